// A model picked before htmx was ready (or restored by the browser on "back") still gets its own
// fields: a picker whose value differs from the model whose fields are shown (data-fields-for)
// asks for them, as a change would. Checked whenever htmx has wired new content.
document.addEventListener("htmx:load", (event) => {
  const root = event.detail.elt;
  const pickers = root.matches?.("select[data-fields-for]") ? [root] : root.querySelectorAll?.("select[data-fields-for]") || [];
  for (const picker of pickers) {
    if (picker.value !== picker.dataset.fieldsFor) htmx.trigger(picker, "change");
  }
});

// A generate form sent back with mistakes: focus goes to the first field to mend (the old form,
// and the focus in it, were swapped away).
document.addEventListener("htmx:load", (event) => {
  const form = event.detail.elt;
  if (form.id !== "generate-form") return;
  const invalid = form.querySelector(".invalid input, .invalid select, .invalid textarea");
  if (invalid) {
    invalid.closest("details")?.setAttribute("open", "");
    invalid.focus();
  }
});
