// A submit button with data-confirm asks first; with data-confirm-when="<select id>=<value>",
// only when that select holds that value (the library's bulk "Delete"). Without JavaScript the
// form submits as it is.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-confirm]");
  if (!button) return;
  const [id, value] = (button.dataset.confirmWhen || "").split("=");
  if (id && document.getElementById(id)?.value !== value) return;
  if (!window.confirm(button.dataset.confirm)) event.preventDefault();
});
