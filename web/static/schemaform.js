/* A form built from an OCPP 1.6 JSON schema (draft 4): objects, enums, numbers, dates, arrays. */
"use strict";
(function () {
  const { el } = Panel;

  function scalar(schema, path, required, onChange) {
    const id = "op-f-" + path.join("-");
    let input;
    if (schema.enum) {
      input = el("select", { id }, el("option", { value: "", text: required ? "— choose —" : "(not sent)" }),
        ...schema.enum.map((v) => el("option", { value: v, text: v })));
    } else if (schema.type === "boolean") {
      input = el("select", { id }, el("option", { value: "", text: required ? "— choose —" : "(not sent)" }),
        el("option", { value: "true", text: "true" }), el("option", { value: "false", text: "false" }));
    } else if (schema.type === "integer" || schema.type === "number") {
      input = el("input", { id, type: "number", step: schema.type === "integer" ? "1" : "any" });
    } else {
      input = el("input", { id, type: "text", maxlength: schema.maxLength || null,
        placeholder: schema.format === "date-time" ? "2025-01-01T12:00:00Z" : (schema.maxLength ? `up to ${schema.maxLength} characters` : "") });
    }
    input.addEventListener("input", onChange);
    input.addEventListener("change", onChange);
    const extra = schema.format === "date-time"
      ? el("button", { type: "button", text: "now", onclick: () => { input.value = new Date().toISOString().replace(/\.\d+Z$/, "Z"); onChange(); } }) : null;
    return {
      node: el("span", {}, input, extra ? " " : null, extra),
      get() {
        const v = input.value;
        if (v === "") return undefined;
        if (schema.type === "integer") return Number.isInteger(Number(v)) ? Number(v) : v;
        if (schema.type === "number") return Number(v);
        if (schema.type === "boolean") return v === "true";
        return v;
      },
      set(v) { input.value = v === undefined || v === null ? "" : String(v); },
    };
  }

  function arrayNode(schema, path, required, onChange) {
    const items = [];
    const list = el("div", { class: "array-items" });
    const itemSchema = schema.items || { type: "string" };
    function add(value) {
      const child = node(itemSchema, path.concat(String(items.length)), true, onChange, `#${items.length + 1}`);
      const wrap = el("div", { class: "row" }, child.node,
        el("button", { type: "button", text: "remove", onclick: () => { const i = items.indexOf(entry); items.splice(i, 1); wrap.remove(); onChange(); } }));
      const entry = { child, wrap };
      items.push(entry);
      list.append(wrap);
      if (value !== undefined) child.set(value);
      onChange();
    }
    const addButton = el("button", { type: "button", id: "op-add-" + path.join("-"), text: "add " + (itemSchema.type === "object" ? "entry" : "value"), onclick: () => add() });
    return {
      node: el("div", {}, list, addButton),
      get() {
        const values = items.map((e) => e.child.get()).filter((v) => v !== undefined);
        return values.length || required ? values : undefined;
      },
      set(v) { items.splice(0).forEach((e) => e.wrap.remove()); (Array.isArray(v) ? v : []).forEach((x) => add(x)); },
    };
  }

  function objectNode(schema, path, required, onChange, legend) {
    const props = schema.properties || {};
    const need = new Set(schema.required || []);
    const children = {};
    const box = el("fieldset", {}, legend ? el("legend", { text: legend }) : null);
    let include = null;
    if (!required && path.length) {
      include = el("input", { type: "checkbox", id: "op-include-" + path.join("-"), onchange: () => { body.hidden = !include.checked; onChange(); } });
      box.append(el("label", {}, include, " send this object"));
    }
    const body = el("div", {});
    if (include) body.hidden = true;
    for (const [name, sub] of Object.entries(props)) {
      const child = node(sub, path.concat(name), need.has(name), onChange, name);
      children[name] = child;
      body.append(el("div", { class: "field" },
        el("label", { for: "op-f-" + path.concat(name).join("-"), class: "mono" }, name, need.has(name) ? el("span", { class: "req", text: " *" }) : null,
          el("div", { class: "hint", text: [sub.type, sub.format, sub.maxLength ? `≤${sub.maxLength}` : null].filter(Boolean).join(", ") })),
        child.node));
    }
    if (!Object.keys(props).length) body.append(el("p", { class: "muted", text: "this request has no fields" }));
    box.append(body);
    return {
      node: box,
      get() {
        if (include && !include.checked) return undefined;
        const out = {};
        for (const [name, child] of Object.entries(children)) {
          const v = child.get();
          if (v !== undefined) out[name] = v;
        }
        return out;
      },
      set(v) {
        const value = v && typeof v === "object" ? v : undefined;
        if (include) { include.checked = value !== undefined; body.hidden = !include.checked; }
        for (const [name, child] of Object.entries(children)) child.set(value ? value[name] : undefined);
      },
    };
  }

  function node(schema, path, required, onChange, legend) {
    if (schema.type === "object") return objectNode(schema, path, required, onChange, legend);
    if (schema.type === "array") return arrayNode(schema, path, required, onChange);
    return scalar(schema, path, required, onChange);
  }

  function build(container, schema, onChange) {
    const root = objectNode(schema, [], true, () => onChange(root.get()), null);
    container.replaceChildren(root.node);
    return root;
  }

  window.SchemaForm = { build };
})();
