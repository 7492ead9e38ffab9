// A form for every create mutation, built from the schema (introspection), so a kind added to the API
// appears here without page code. A create mutation is one that takes a single `input` object and returns
// a Job (or a union with Job in it): the same rule `clipforge make` uses (clipforge/make/kinds.py).

export const SCHEMA_QUERY = `query PageSchema {
  __schema {
    queryType { name }
    mutationType { fields { name description args { name type { ...T } } type { ...T } } }
    types { kind name description possibleTypes { name }
      inputFields { name description defaultValue type { ...T } }
      enumValues { name description }
      fields { name type { ...T } } }
  }
}
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`;

// Suggestions for free-text fields whose values a reference query lists.
const HINTS = {
  size: { field: "resolutions", query: "{ resolutions }", pick: (d) => d.resolutions },
  visualStyle: { field: "styles", query: "{ styles { name } }", pick: (d) => d.styles.map((s) => s.name) },
  voice: { field: "voices", query: "{ voices { name } }", pick: (d) => d.voices.map((v) => v.name) },
};
const AUTOMATIC = new Set(["idempotencyKey"]); // filled in by the page, see newKey()

export function named(type) {
  let t = type;
  while (t.ofType) t = t.ofType;
  return t;
}

function unwrapNonNull(type) {
  return type.kind === "NON_NULL" ? type.ofType : type;
}

export function kebab(name) {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

export function humanize(name) {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export class SchemaModel {
  constructor(data) {
    this.types = new Map(data.__schema.types.map((t) => [t.name, t]));
    this.queryFields = new Set((this.types.get(data.__schema.queryType.name).fields || []).map((f) => f.name));
    this.kinds = [];
    for (const field of (data.__schema.mutationType || { fields: [] }).fields) {
      const result = named(field.type);
      const members = this.types.get(result.name)?.possibleTypes || [];
      const returnsJob = result.name === "Job" || members.some((t) => t.name === "Job");
      const arg = field.args.length === 1 && field.args[0].name === "input" ? field.args[0] : null;
      if (!returnsJob || !arg || named(arg.type).kind !== "INPUT_OBJECT") continue;
      const id = kebab(field.name.replace(/^(create|render)(?=[A-Z])/, ""));
      this.kinds.push({
        id,
        label: humanize(field.name.replace(/^(create|render)(?=[A-Z])/, "")),
        mutation: field.name,
        description: field.description || "",
        inputType: named(arg.type).name,
        argType: typeString(arg.type),
        result: result.name,
      });
    }
  }

  // The selection of a create mutation's result: the Job's id, and every problem type's fields.
  resultSelection(kind, jobFields) {
    const type = this.types.get(kind.result);
    const members = type && type.kind === "UNION" ? type.possibleTypes.map((t) => t.name) : [kind.result];
    const parts = ["__typename"];
    for (const name of members) {
      if (name === "Job") {
        parts.push(`... on Job { ${jobFields} }`);
        continue;
      }
      const fields = (this.types.get(name)?.fields || [])
        .map((f) => {
          const inner = named(f.type);
          if (inner.kind === "SCALAR" || inner.kind === "ENUM") return f.name;
          const sub = (this.types.get(inner.name)?.fields || []).filter((g) =>
            ["SCALAR", "ENUM"].includes(named(g.type).kind),
          );
          return sub.length ? `${f.name} { ${sub.map((g) => g.name).join(" ")} }` : null;
        })
        .filter(Boolean);
      if (fields.length) parts.push(`... on ${name} { ${fields.join(" ")} }`);
    }
    return parts.join(" ");
  }

  hintQueries() {
    return Object.entries(HINTS).filter(([, h]) => this.queryFields.has(h.field));
  }
}

function typeString(type) {
  if (type.kind === "NON_NULL") return `${typeString(type.ofType)}!`;
  if (type.kind === "LIST") return `[${typeString(type.ofType)}]`;
  return type.name;
}

// A GraphQL literal as introspection prints defaults ("1080x1920" quoted, 4.0, false, LUXURY, [...]).
function parseDefault(text) {
  if (text === null || text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text; // an enum value
  }
}

export function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes); // randomUUID() needs a secure context; this works on any address
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  node.append(...children.filter(Boolean));
  return node;
}

export class FormError extends Error {
  constructor(path, message) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

// One input object as a set of widgets; collect() reads them back as the mutation's `input` variable.
export class InputForm {
  constructor(model, typeName, hints = {}) {
    this.model = model;
    this.root = el("div", { class: "fields" });
    this.hints = hints;
    this.readers = this.build(this.root, typeName, "", 0);
    this.attachHints();
  }

  build(container, typeName, prefix, depth) {
    const type = this.model.types.get(typeName);
    const readers = [];
    for (const field of type.inputFields) {
      if (AUTOMATIC.has(field.name)) continue;
      const path = prefix ? `${prefix}.${field.name}` : field.name;
      const reader = this.widget(container, field, path, depth);
      if (reader) readers.push({ name: field.name, read: reader });
    }
    return readers;
  }

  widget(container, field, path, depth) {
    const required = field.type.kind === "NON_NULL" && field.defaultValue === null;
    const type = unwrapNonNull(field.type);
    const base = named(type);
    const isList = type.kind === "LIST";
    const fallback = parseDefault(field.defaultValue);
    const id = `f-${path.replace(/\W/g, "-")}`;
    const label = el("label", { for: id, text: humanize(field.name) + (required ? " *" : "") });
    const help = field.description ? el("small", { text: field.description }) : null;
    const row = el("div", { class: "field", "data-field": path });
    let input;
    let read;
    if (base.kind === "INPUT_OBJECT" && !isList && depth < 3) {
      const set = el("fieldset", { class: "nested" }, el("legend", { text: humanize(field.name) }));
      if (help) set.append(help);
      const inner = this.build(set, base.name, path, depth + 1);
      container.append(set);
      return (files) => {
        const value = {};
        for (const r of inner) {
          const v = r.read(files);
          if (v !== undefined) value[r.name] = v;
        }
        return Object.keys(value).length || required ? value : undefined;
      };
    } else if (base.name === "Upload") {
      input = el("input", { type: "file", id, name: path, multiple: isList, required });
      read = (files) => {
        const chosen = Array.from(input.files);
        if (!chosen.length) return undefined;
        chosen.forEach((file, i) =>
          files.push({ path: `variables.input.${path}${isList ? `.${i}` : ""}`, file }),
        );
        return isList ? chosen.map(() => null) : null;
      };
    } else if (base.kind === "ENUM") {
      const options = this.model.types.get(base.name).enumValues.map((v) =>
        el("option", { value: v.name, text: v.name, selected: v.name === fallback }),
      );
      input = el("select", { id, name: path, required }, el("option", { value: "", text: "—" }), ...options);
      read = () => {
        if (!input.value) return undefined;
        return isList ? [input.value] : input.value;
      };
    } else if (base.name === "Boolean" && !isList) {
      input = el("input", { type: "checkbox", id, name: path, checked: fallback === true });
      read = () => (input.checked === (fallback === true) ? undefined : input.checked);
    } else if ((base.name === "Int" || base.name === "Float") && !isList) {
      input = el("input", {
        type: "number", id, name: path, required, step: base.name === "Int" ? "1" : "any",
        placeholder: fallback ?? "",
      });
      read = () => {
        if (input.value === "") return undefined;
        const v = Number(input.value);
        if (!Number.isFinite(v) || (base.name === "Int" && !Number.isInteger(v))) {
          throw new FormError(path, `${input.value} is not a${base.name === "Int" ? "n integer" : " number"}`);
        }
        return v;
      };
    } else if (isList && base.kind === "SCALAR" && base.name !== "JSON") {
      input = el("textarea", { id, name: path, rows: 3, required, placeholder: "one per line" });
      read = () => {
        const lines = input.value.split("\n").map((s) => s.trim()).filter(Boolean);
        if (!lines.length) return undefined;
        return base.name === "Int" || base.name === "Float" ? lines.map(Number) : lines;
      };
    } else if (base.kind === "SCALAR" && base.name !== "JSON" && !isList) {
      const long = /(text|description|prompt|idea)$/i.test(field.name);
      input = long
        ? el("textarea", { id, name: path, rows: 4, required })
        : el("input", { type: "text", id, name: path, required, placeholder: fallback ?? "" });
      read = () => (input.value === "" ? undefined : input.value);
    } else {
      // JSON, lists of input objects, anything deeper: JSON text
      input = el("textarea", { id, name: path, rows: 6, required, class: "json", placeholder: "JSON" });
      read = () => {
        if (!input.value.trim()) return undefined;
        try {
          return JSON.parse(input.value);
        } catch (err) {
          throw new FormError(path, `not valid JSON (${err.message})`);
        }
      };
    }
    row.append(label, input);
    if (help) row.append(help);
    container.append(row);
    return read;
  }

  attachHints() {
    for (const [name, values] of Object.entries(this.hints)) {
      for (const input of this.root.querySelectorAll(`input[type=text][name="${name}"], input[type=text][name$=".${name}"]`)) {
        const list = el("datalist", { id: `${input.id}-hints` }, ...values.map((v) => el("option", { value: v })));
        input.setAttribute("list", list.id);
        input.after(list);
      }
    }
  }

  // {input, files}; throws FormError for a value that cannot be sent.
  collect() {
    const files = [];
    const input = {};
    for (const r of this.readers) {
      const v = r.read(files);
      if (v !== undefined) input[r.name] = v;
    }
    return { input, files };
  }
}

export async function loadHints(model, http) {
  const hints = {};
  await Promise.all(
    model.hintQueries().map(async ([name, h]) => {
      try {
        hints[name] = h.pick(await http.request(h.query));
      } catch {
        // suggestions only: a form without them still works
      }
    }),
  );
  return hints;
}
