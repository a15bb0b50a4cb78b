// The VM request form offers SSH keys and user-data only while the chosen image understands cloud-init
// (its option carries data-cloud-init). Hidden fields are disabled too, so they are not sent; the
// server refuses them for other images anyway.
(function () {
  "use strict";

  function update(select) {
    var option = select.options[select.selectedIndex];
    var seeded = Boolean(option && option.hasAttribute("data-cloud-init"));
    document.querySelectorAll("[data-cloud-init-only]").forEach(function (input) {
      var field = input.closest(".field");
      if (field) {
        field.hidden = !seeded;
      }
      input.disabled = !seeded;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("id_image");
    if (!select || !document.querySelector("[data-cloud-init-only]")) {
      return;
    }
    update(select);
    select.addEventListener("change", function () {
      update(select);
    });
  });
})();
