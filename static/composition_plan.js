// The composition plan editor: sections with labelled inputs, kept in step with the JSON
// textarea that is actually posted. Without this script that textarea is the editor.
(function () {
  "use strict";
  if (window.compositionPlanEditor) return; // loaded again by an htmx swap: already listening
  window.compositionPlanEditor = { init: initAll };

  var STYLE_LISTS = ["positiveGlobalStyles", "negativeGlobalStyles"];
  var SECTION_LISTS = ["lines", "positiveLocalStyles", "negativeLocalStyles"];

  function toLines(text) {
    return text.split("\n").map(function (line) { return line.trim(); }).filter(Boolean);
  }

  function asList(value) {
    return Array.isArray(value) ? value.join("\n") : "";
  }

  function readPlan(text) {
    if (!text.trim()) return { positiveGlobalStyles: [], negativeGlobalStyles: [], sections: [] };
    try {
      var plan = JSON.parse(text);
      return plan && typeof plan === "object" && !Array.isArray(plan) ? plan : null;
    } catch (error) {
      return null;
    }
  }

  function Editor(root) {
    this.root = root;
    this.json = root.querySelector("[data-plan-json]");
    this.editor = root.querySelector("[data-plan-editor]");
    this.list = root.querySelector("[data-plan-sections]");
    this.template = root.querySelector("[data-plan-section-template]");
    this.total = root.querySelector("[data-plan-total]");
    this.maxTotal = parseInt(root.getAttribute("data-max-total"), 10) || null;
    this.nextKey = 0;
  }

  Editor.prototype.start = function () {
    var plan = readPlan(this.json.value);
    if (plan === null) return; // JSON the editor cannot show: leave it to the textarea and the server
    var self = this;
    this.fill(plan);
    this.addToggle();
    this.show("sections");
    this.editor.addEventListener("input", function () { self.write(); });
    this.seen = this.json.value;
    this.json.addEventListener("change", function () {
      if (self.json.value === self.seen) return; // nothing new since the editor last read or wrote it
      self.seen = self.json.value;
      var edited = readPlan(self.json.value);
      if (edited !== null) self.fill(edited);
    });
    this.root.querySelector("[data-plan-add]").addEventListener("click", function () {
      var section = self.addSection({});
      section.querySelector("[data-plan-field=sectionName]").focus();
      self.write();
    });
  };

  // One view at a time: the section editor, or the plan as JSON (the field that is posted).
  Editor.prototype.addToggle = function () {
    var self = this;
    this.toggle = document.createElement("button");
    this.toggle.type = "button";
    this.toggle.className = "link plan-toggle";
    this.toggle.setAttribute("aria-controls", this.json.id);
    this.root.insertBefore(this.toggle, this.root.firstChild);
    this.toggle.addEventListener("click", function () {
      if (self.view === "sections") return self.show("json");
      var edited = readPlan(self.json.value);
      if (edited === null) {
        self.toggle.textContent = "Edit as sections (fix the JSON first)";
        return;
      }
      self.fill(edited);
      self.show("sections");
    });
  };

  Editor.prototype.show = function (view) {
    this.view = view;
    var sections = view === "sections";
    this.editor.hidden = !sections;
    this.json.hidden = sections;
    var help = this.root.querySelector("[data-plan-json-help]");
    if (help) help.hidden = sections;
    this.toggle.textContent = sections ? "Edit the plan as JSON" : "Edit the plan as sections";
    this.toggle.setAttribute("aria-expanded", String(!sections));
  };

  Editor.prototype.fill = function (plan) {
    var self = this;
    STYLE_LISTS.forEach(function (key) {
      self.editor.querySelector('[data-plan-list="' + key + '"]').value = asList(plan[key]);
    });
    this.list.textContent = "";
    (Array.isArray(plan.sections) ? plan.sections : []).forEach(function (section) {
      self.addSection(section && typeof section === "object" ? section : {});
    });
    this.summarise();
  };

  Editor.prototype.addSection = function (section) {
    var self = this;
    var key = String(this.nextKey++);
    var holder = document.createElement("div");
    holder.innerHTML = this.template.innerHTML.split("__KEY__").join(key);
    var item = holder.querySelector(".plan-section");
    item.querySelector("[data-plan-field=sectionName]").value = section.sectionName || "";
    item.querySelector("[data-plan-field=duration]").value = section.duration != null ? section.duration : "";
    SECTION_LISTS.forEach(function (field) {
      item.querySelector('[data-plan-field="' + field + '"]').value = asList(section[field]);
    });
    item.querySelector("[data-plan-remove]").addEventListener("click", function () {
      var next = item.nextElementSibling || item.previousElementSibling;
      item.remove();
      self.write();
      (next ? next.querySelector("[data-plan-field=sectionName]") : self.root.querySelector("[data-plan-add]")).focus();
    });
    this.list.appendChild(item);
    this.renumber();
    return item;
  };

  Editor.prototype.renumber = function () {
    Array.prototype.forEach.call(this.list.children, function (item, index) {
      item.querySelector("[data-plan-number]").textContent = String(index + 1);
      item.querySelector("[data-plan-remove]").textContent = "Remove section " + (index + 1);
    });
  };

  Editor.prototype.read = function () {
    var self = this;
    var plan = {};
    STYLE_LISTS.forEach(function (key) {
      plan[key] = toLines(self.editor.querySelector('[data-plan-list="' + key + '"]').value);
    });
    plan.sections = Array.prototype.map.call(this.list.children, function (item) {
      var section = { sectionName: item.querySelector("[data-plan-field=sectionName]").value.trim() };
      var duration = item.querySelector("[data-plan-field=duration]").value.trim();
      if (duration !== "") section.duration = Number(duration); // the server says what is wrong with it
      SECTION_LISTS.forEach(function (field) {
        section[field] = toLines(item.querySelector('[data-plan-field="' + field + '"]').value);
      });
      return section;
    });
    return plan;
  };

  Editor.prototype.write = function () {
    var plan = this.read();
    var empty = !plan.sections.length && !plan.positiveGlobalStyles.length && !plan.negativeGlobalStyles.length;
    this.json.value = empty ? "" : JSON.stringify(plan, null, 2);
    this.seen = this.json.value;
    this.renumber();
    this.summarise(plan);
  };

  Editor.prototype.summarise = function (plan) {
    plan = plan || this.read();
    if (!plan.sections.length) {
      this.total.textContent = "No sections: the prompt alone shapes the song.";
      return;
    }
    var seconds = plan.sections.reduce(function (sum, s) { return sum + (Number(s.duration) || 0); }, 0);
    var text = plan.sections.length + (plan.sections.length === 1 ? " section, " : " sections, ") + seconds + " seconds in all";
    if (this.maxTotal && seconds > this.maxTotal) text += " (more than the " + this.maxTotal + " seconds allowed)";
    this.total.textContent = text + ".";
  };

  function initAll(scope) {
    scope = scope && scope.querySelectorAll ? scope : document;
    var roots = Array.prototype.slice.call(scope.querySelectorAll("[data-composition-plan]"));
    if (scope.matches && scope.matches("[data-composition-plan]")) roots.push(scope);
    roots.forEach(function (root) {
      if (root.hasAttribute("data-plan-ready")) return;
      root.setAttribute("data-plan-ready", "");
      new Editor(root).start();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  } else {
    initAll(document);
  }
  // htmx swaps the model's fields in when the model picker changes.
  document.addEventListener("htmx:load", function (event) { initAll(event.target); });
})();
