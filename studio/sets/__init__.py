"""Generation sets: prompts × models started in one submit (compare mode), shown as a grid of live
job cards with a pick per row, retried, cancelled and downloaded as one."""
