// Projects: the list with pages, create, rename, delete, and the names
// and choices the task views show.
import {request, allPages, ApiError, SessionEnded} from './api.js';
import {$, h, say, showError, clearError, openDialog, confirmDelete, busy, formValue} from './ui.js';

const names = new Map(); // id → name, for the task views
const view = {tokens: [null], page: 0, next: null};
let renaming = null; // {id, etag}

function report(err, box) {
  if (err instanceof SessionEnded) return;
  if (!(err instanceof ApiError)) console.error(err);
  showError(err, box);
}

export const projectName = (id) => names.get(id) ?? 'unknown project';

// refreshChoices reloads every project's name and refills the project
// selects of the task forms, keeping their selection.
export async function refreshChoices() {
  try {
    const all = await allPages('/projects', 'projects');
    names.clear();
    for (const p of all) names.set(p.id, p.name);
    for (const select of document.querySelectorAll('select[data-projects]')) {
      const keep = select.value;
      const fixed = [...select.options].filter((o) => o.value === '' || o.value === 'none');
      select.replaceChildren(...fixed, ...all.map((p) => h('option', {value: p.id}, p.name)));
      select.value = [...select.options].some((o) => o.value === keep) ? keep : '';
    }
  } catch (err) {
    report(err);
  }
}

export async function load() {
  clearError();
  try {
    const {body} = await request('GET', '/projects', {query: {page_token: view.tokens[view.page]}});
    view.next = body.next_page_token;
    $('project-list').replaceChildren(...body.projects.map(projectItem));
    $('project-empty').hidden = body.projects.length > 0;
    $('project-page').textContent = `Page ${view.page + 1}`;
    $('project-prev').disabled = view.page === 0;
    $('project-next').disabled = !view.next;
  } catch (err) {
    report(err);
  }
}

function projectItem(p) {
  return h('li', {'data-id': p.id, 'data-name': p.name},
    h('div', {class: 'item-main'},
      h('span', {class: 'item-name'}, p.name),
      p.description ? h('p', {class: 'desc'}, p.description) : null),
    h('div', {class: 'actions'},
      h('a', {href: `#tasks/project/${encodeURIComponent(p.id)}`, 'data-action': 'tasks', 'aria-label': `Tasks of “${p.name}”`}, 'Tasks'),
      h('button', {type: 'button', 'data-action': 'rename', 'aria-label': `Rename “${p.name}”`, onclick: () => rename(p.id)}, 'Rename'),
      h('button', {type: 'button', class: 'danger', 'data-action': 'delete', 'aria-label': `Delete “${p.name}”`, onclick: (e) => remove(e.currentTarget, p)}, 'Delete')));
}

async function rename(id) {
  clearError();
  try {
    const {body, etag} = await request('GET', `/projects/${encodeURIComponent(id)}`);
    renaming = {id, etag};
    const f = $('project-edit');
    f.elements.name.value = body.project.name;
    f.elements.description.value = body.project.description ?? '';
    clearError(f.querySelector('.error'));
    openDialog($('project-dialog'));
    $('pe-name').focus();
  } catch (err) {
    report(err);
  }
}

async function remove(button, p) {
  if (!await confirmDelete(`Delete the project “${p.name}”? Its tasks stay, without a project.`)) return;
  clearError();
  try {
    await busy(button, () => request('DELETE', `/projects/${encodeURIComponent(p.id)}`));
    say(`Deleted the project “${p.name}”.`);
    if ($('project-list').children.length === 1 && view.page > 0) view.page--;
    await Promise.all([load(), refreshChoices()]);
  } catch (err) {
    report(err);
  }
}

export function setup() {
  $('project-new').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.currentTarget;
    const project = {name: f.elements.name.value.trim()};
    const description = formValue(f, 'description');
    if (description !== null) project.description = description;
    clearError();
    try {
      await busy(f, () => request('POST', '/projects', {body: project}));
      f.reset();
      say(`Added the project “${project.name}”.`);
      await Promise.all([load(), refreshChoices()]);
      f.elements.name.focus();
    } catch (err) {
      report(err);
    }
  });
  $('project-edit').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.currentTarget;
    const box = f.querySelector('.error');
    const changes = {name: f.elements.name.value.trim(), description: formValue(f, 'description')};
    clearError(box);
    try {
      await busy(f, () => request('PATCH', `/projects/${encodeURIComponent(renaming.id)}`,
        {body: changes, ifMatch: renaming.etag, contentType: 'application/merge-patch+json'}));
      $('project-dialog').close();
      say(`Saved the project “${changes.name}”.`);
      await Promise.all([load(), refreshChoices()]);
    } catch (err) {
      report(err, box);
      if (err instanceof ApiError && err.status === 412) say('The project was changed elsewhere: cancel and rename it again to start from the saved version.');
    }
  });
  $('project-prev').addEventListener('click', () => {
    if (view.page > 0) view.page--;
    load();
  });
  $('project-next').addEventListener('click', () => {
    if (!view.next) return;
    view.tokens[++view.page] = view.next;
    load();
  });
}
