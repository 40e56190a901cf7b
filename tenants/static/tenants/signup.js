// The signup form: checks each field as the user types (POST /signup/check/),
// submits with fetch while a progress indicator runs, and shows every error
// next to its field. Without JavaScript the form still posts and the server
// renders the same messages.
(function () {
  "use strict";
  var form = document.getElementById("signup-form");
  if (!form || !window.fetch) { return; }
  var checkUrl = form.getAttribute("data-check-url");
  var timers = {};
  var seq = {};

  function showErrors(errors, only) {
    Object.keys(errors).forEach(function (name) {
      if (only && only.indexOf(name) < 0) { return; }
      var slot = document.getElementById("error-" + name);
      if (!slot) { slot = document.getElementById("error-__all__"); }
      var messages = errors[name] || [];
      slot.textContent = messages.join(" ");
      var input = form.querySelector('[name="' + name + '"]');
      if (input && input.type !== "radio" && input.type !== "checkbox") {
        if (messages.length) { input.setAttribute("aria-invalid", "true"); }
        else { input.removeAttribute("aria-invalid"); }
      }
      var box = form.querySelector('[data-field="' + name + '"]');
      if (box) { box.classList.toggle("invalid", messages.length > 0); box.classList.toggle("valid", messages.length === 0); }
    });
  }

  function check(names) {
    var data = new FormData(form);
    data.set("fields", names.join(","));
    var key = names.join(",");
    var mine = (seq[key] = (seq[key] || 0) + 1);
    return fetch(checkUrl, { method: "POST", body: data, headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (seq[key] !== mine) { return; }  // a newer check is on its way
        showErrors(body.errors || {}, names);
      })
      .catch(function () { /* the submit checks again */ });
  }

  function related(name) {
    // The password is judged against the name and email; modules against the plan.
    if (name === "email" || name === "admin_name") { return form.password.value ? [name, "password"] : [name]; }
    if (name === "plan") { return ["plan", "modules"]; }
    return [name];
  }

  function schedule(name, delay) {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(function () { check(related(name)); }, delay);
  }

  form.addEventListener("input", function (ev) {
    var name = ev.target.name;
    if (!name || name === "csrfmiddlewaretoken") { return; }
    if (ev.target.type === "checkbox" || ev.target.type === "radio") { schedule(name, 0); }
    else { schedule(name, 350); }
  });
  form.addEventListener("focusout", function (ev) {
    var name = ev.target.name;
    if (name && ev.target.value && ev.target.type !== "checkbox" && ev.target.type !== "radio") { schedule(name, 0); }
  });

  var progress = document.getElementById("progress");
  var progressText = document.getElementById("progress-text");
  var steps = (progressText.getAttribute("data-steps") || "").split("|");
  var stepTimer = null;

  function startProgress() {
    var i = 0;
    progress.hidden = false;
    form.setAttribute("aria-busy", "true");
    progressText.textContent = steps[0];
    stepTimer = setInterval(function () {
      i = Math.min(i + 1, steps.length - 1);
      progressText.textContent = steps[i];
    }, 600);
  }

  function stopProgress() {
    clearInterval(stepTimer);
    progress.hidden = true;
    form.removeAttribute("aria-busy");
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var button = document.getElementById("signup-submit");
    button.disabled = true;
    startProgress();
    fetch(form.action, { method: "POST", body: new FormData(form), headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (body.ok) {
          progressText.textContent = steps[steps.length - 1];
          window.location.assign(body.redirect);
          return;
        }
        stopProgress();
        button.disabled = false;
        var all = Array.prototype.map.call(form.querySelectorAll("[data-field]"), function (el) { return el.getAttribute("data-field"); });
        var errors = body.errors || {};
        all.concat(["__all__"]).forEach(function (name) { if (!errors[name]) { errors[name] = []; } });
        showErrors(errors);
        var first = form.querySelector(".invalid input, [aria-invalid=true]");
        if (first) { first.focus(); }
      })
      .catch(function () {
        stopProgress();
        button.disabled = false;
        document.getElementById("error-__all__").textContent = form.getAttribute("data-network-error") || "";
      });
  });
})();
