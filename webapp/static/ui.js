// DOM helpers shared by the views. Text is always set as text, never as
// HTML, so nothing the API returns can become markup.

export const $ = (id) => document.getElementById(id);

// h creates an element: h('li', {class: 'x', dataset: {id: 1}}, 'text', child).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  el.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

// say announces a short message in the status line (a polite live region).
let sayTimer;
export function say(text) {
  const el = $('status');
  el.textContent = text;
  clearTimeout(sayTimer);
  if (text) sayTimer = setTimeout(() => { el.textContent = ''; }, 8000);
}

// showError shows an error in box (the page's alert region by default).
// An API error is shown as the API said it: its message, its code, the
// field errors of a 422 and the request id to quote.
export function showError(err, box = $('error')) {
  box.replaceChildren(...errorContent(err));
  box.hidden = false;
}

export function clearError(box = $('error')) {
  box.hidden = true;
  box.replaceChildren();
}

function errorContent(err) {
  if (!err || !err.status) return [h('strong', {}, 'Error: '), String(err?.message ?? err)];
  const b = err.body || {};
  const out = [h('strong', {}, `${err.status}: `), b.error ?? err.message];
  if (b.code) out.push(' ', h('code', {}, b.code));
  if (Array.isArray(b.errors) && b.errors.length) {
    out.push(h('ul', {}, ...b.errors.map((e) => h('li', {}, h('code', {}, e.field), ': ', e.message))));
  }
  if (err.requestId) out.push(h('span', {class: 'rid'}, `Request id ${err.requestId}`));
  return out;
}

// facts fills a <dl> with [term, value] pairs.
export function facts(dl, pairs) {
  dl.replaceChildren(...pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v === null || v === undefined || v === '' ? '—' : String(v))]));
}

// Dialogs: showModal gives focus containment and Escape; every element
// with data-close closes its dialog; focus returns where it was.
export function openDialog(dialog) {
  const back = document.activeElement;
  dialog.addEventListener('close', () => back?.focus?.(), {once: true});
  if (!dialog.open) dialog.showModal();
}

for (const btn of document.querySelectorAll('dialog [data-close]')) {
  btn.addEventListener('click', () => btn.closest('dialog').close());
}

// confirmDelete asks before deleting; resolves true when confirmed.
export function confirmDelete(text) {
  const dialog = $('confirm-dialog');
  $('confirm-text').textContent = text;
  return new Promise((resolve) => {
    const yes = () => { resolve(true); dialog.close(); };
    $('confirm-yes').addEventListener('click', yes, {once: true});
    dialog.addEventListener('close', () => { $('confirm-yes').removeEventListener('click', yes); resolve(false); }, {once: true});
    openDialog(dialog);
    $('confirm-yes').focus();
  });
}

// busy disables a form's (or a button's) controls while work runs.
export async function busy(el, work) {
  const controls = el.matches('form') ? [...el.querySelectorAll('button')] : [el];
  controls.forEach((c) => { c.disabled = true; });
  try {
    return await work();
  } finally {
    controls.forEach((c) => { c.disabled = false; });
  }
}

// formValue returns a trimmed field value, or null when empty.
export function formValue(form, name) {
  const v = form.elements[name].value.trim();
  return v === '' ? null : v;
}
