// Commonspace's page behaviour: small, progressive, no inline handlers (the CSP forbids them).
"use strict";

document.addEventListener("click", async (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    event.preventDefault();
    try {
      await navigator.clipboard.writeText(copy.dataset.copy);
      const label = copy.textContent;
      copy.textContent = "Copied";
      setTimeout(() => { copy.textContent = label; }, 1200);
    } catch (_error) {
      window.prompt("Copy this value:", copy.dataset.copy);
    }
    return;
  }
  const confirmable = event.target.closest("[data-confirm]");
  if (confirmable && !window.confirm(confirmable.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// Show indicator values defanged (the default) or as they are.
document.addEventListener("change", (event) => {
  const toggle = event.target.closest("[data-defang-toggle]");
  if (!toggle) return;
  const scope = document.querySelector(toggle.dataset.defangToggle) || document;
  for (const cell of scope.querySelectorAll("[data-raw][data-defanged]")) {
    cell.textContent = toggle.checked ? cell.dataset.defanged : cell.dataset.raw;
  }
});
