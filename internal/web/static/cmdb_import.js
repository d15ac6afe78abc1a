// The CMDB import page: a chosen file is read into the text area, so that
// the form sends it (and shows it again with the preview).
(function () {
  "use strict";
  document.querySelectorAll("input[type=file][data-fill]").forEach(function (input) {
    var target = document.getElementById(input.getAttribute("data-fill"));
    if (!target) return;
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) return;
      var reader = new FileReader();
      reader.onload = function () { target.value = String(reader.result); };
      reader.readAsText(file);
      var select = document.getElementById("f-format");
      if (select) {
        var ext = file.name.split(".").pop().toLowerCase();
        var format = { csv: "csv", json: "json", yaml: "yaml", yml: "yaml" }[ext];
        if (format) select.value = format;
      }
    });
  });
})();
