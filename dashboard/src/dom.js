// Tiny DOM helpers: elements are built with properties and text, never from HTML strings, so
// nothing the API returns can become markup.

export function $(id) {
  const el = document.getElementById(id);
  if (!el) {
    throw new Error(`the page has no #${id}`);
  }
  return el;
}

// h('button', {type: 'button', onclick: fn, dataset: {x: '1'}}, 'text', child...)
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (name === 'class') {
      el.className = value;
    } else if (name.startsWith('on')) {
      el.addEventListener(name.slice(2), value);
    } else if (name.startsWith('aria-') || name === 'for' || name === 'role') {
      el.setAttribute(name, value === true ? 'true' : String(value));
    } else {
      el[name] = value;
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function splitList(text) {
  return [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
}
