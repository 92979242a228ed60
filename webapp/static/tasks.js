// The task list: filters, search, sort and pages; create, edit (with
// If-Match, and the conflict dialog on 412), complete, reopen, delete.
import {request, ApiError, SessionEnded} from './api.js';
import {projectName} from './projects.js';
import {$, h, say, showError, clearError, facts, openDialog, confirmDelete, busy, formValue} from './ui.js';

const PAGE_SIZE = 20;
const view = {filters: {}, tokens: [null], page: 0, next: null};
let editing = null; // {id, etag, mine}

// report shows an error unless the session ended (the sign-in screen
// says so already).
function report(err, box) {
  if (err instanceof SessionEnded) return;
  if (!(err instanceof ApiError)) console.error(err);
  showError(err, box);
}

export function showProjectTasks(projectId) {
  const form = $('task-filters');
  form.reset();
  form.elements.project_id.value = projectId;
  view.filters = readFilters();
  view.tokens = [null];
  view.page = 0;
}

function readFilters() {
  const f = $('task-filters');
  return Object.fromEntries(['search', 'completed', 'project_id', 'due_after', 'due_before', 'sort'].map((n) => [n, formValue(f, n)]));
}

// load shows the current page. A project's tasks come from
// GET /projects/{id}/tasks, all others from GET /tasks.
export async function load() {
  const {project_id: project, ...rest} = view.filters;
  const byProject = project && project !== 'none';
  const path = byProject ? `/projects/${encodeURIComponent(project)}/tasks` : '/tasks';
  const query = {...rest, limit: PAGE_SIZE, page_token: view.tokens[view.page]};
  if (project === 'none') query.project_id = 'none';
  clearError();
  try {
    const {body} = await request('GET', path, {query});
    view.next = body.next_page_token;
    render(body.tasks);
  } catch (err) {
    report(err);
  }
}

function render(tasks) {
  $('task-list').replaceChildren(...tasks.map(taskItem));
  $('task-empty').hidden = tasks.length > 0;
  $('task-count').textContent = tasks.length ? `(page ${view.page + 1})` : '';
  $('task-page').textContent = `Page ${view.page + 1}`;
  $('task-prev').disabled = view.page === 0;
  $('task-next').disabled = !view.next;
}

function taskItem(t) {
  const meta = [];
  if (t.due_date) meta.push(`Due ${t.due_date}`);
  if (t.project_id) meta.push(`Project: ${projectName(t.project_id)}`);
  if (t.completed) meta.push(`Completed ${t.completed_on ?? ''}`.trim());
  const toggle = t.completed
    ? h('button', {type: 'button', 'data-action': 'reopen', 'aria-label': `Reopen “${t.name}”`, onclick: (e) => setDone(e.currentTarget, t, false)}, 'Reopen')
    : h('button', {type: 'button', 'data-action': 'complete', 'aria-label': `Complete “${t.name}”`, onclick: (e) => setDone(e.currentTarget, t, true)}, 'Complete');
  return h('li', {class: t.completed ? 'done' : null, 'data-id': t.id, 'data-name': t.name},
    h('div', {class: 'item-main'},
      h('span', {class: 'item-name'}, t.name),
      t.completed ? h('span', {class: 'badge'}, 'Done') : null,
      meta.length ? h('span', {class: 'meta'}, meta.join(' · ')) : null,
      t.description ? h('p', {class: 'desc'}, t.description) : null),
    h('div', {class: 'actions'},
      toggle,
      h('button', {type: 'button', 'data-action': 'edit', 'aria-label': `Edit “${t.name}”`, onclick: () => edit(t.id)}, 'Edit'),
      h('button', {type: 'button', class: 'danger', 'data-action': 'delete', 'aria-label': `Delete “${t.name}”`, onclick: (e) => remove(e.currentTarget, t)}, 'Delete')));
}

async function setDone(button, t, done) {
  clearError();
  try {
    await busy(button, () => request('POST', `/tasks/${encodeURIComponent(t.id)}/${done ? 'complete' : 'reopen'}`));
    say(done ? `Completed “${t.name}”.` : `Reopened “${t.name}”.`);
    await load();
  } catch (err) {
    report(err);
  }
}

async function remove(button, t) {
  if (!await confirmDelete(`Delete the task “${t.name}”? This cannot be undone.`)) return;
  clearError();
  try {
    await busy(button, () => request('DELETE', `/tasks/${encodeURIComponent(t.id)}`));
    say(`Deleted “${t.name}”.`);
    if ($('task-list').children.length === 1 && view.page > 0) view.page--;
    await load();
  } catch (err) {
    report(err);
  }
}

// Editing: the task is read again (for its ETag), and saved with
// If-Match, so that a change made meanwhile elsewhere is not overwritten
// unknowingly.
async function edit(id) {
  clearError();
  try {
    const {body, etag} = await request('GET', `/tasks/${encodeURIComponent(id)}`);
    fillEditor(body.task, etag);
    openDialog($('task-dialog'));
    $('e-name').focus();
  } catch (err) {
    report(err);
  }
}

function fillEditor(t, etag) {
  const f = $('task-edit');
  editing = {id: t.id, etag};
  f.elements.name.value = t.name;
  f.elements.description.value = t.description ?? '';
  f.elements.due_date.value = t.due_date ?? '';
  f.elements.project_id.value = t.project_id ?? '';
  clearError(f.querySelector('.error'));
}

function editorValues() {
  const f = $('task-edit');
  return {
    name: f.elements.name.value.trim(),
    description: formValue(f, 'description'),
    due_date: formValue(f, 'due_date'),
    project_id: formValue(f, 'project_id'),
  };
}

// save sends the editor's values as a JSON Merge Patch with If-Match.
async function save(values, etag) {
  const f = $('task-edit');
  const box = f.querySelector('.error');
  clearError(box);
  try {
    await busy(f, () => request('PATCH', `/tasks/${encodeURIComponent(editing.id)}`,
      {body: values, ifMatch: etag, contentType: 'application/merge-patch+json'}));
    $('task-dialog').close();
    $('conflict-dialog').close();
    say(`Saved “${values.name}”.`);
    await load();
  } catch (err) {
    if (err instanceof ApiError && err.status === 412) return conflict(values);
    if ($('conflict-dialog').open) $('conflict-dialog').close();
    report(err, box);
  }
}

// conflict shows the user's version beside the saved one, to reload the
// saved one into the editor or overwrite it with theirs.
async function conflict(mine) {
  try {
    const {body, etag} = await request('GET', `/tasks/${encodeURIComponent(editing.id)}`);
    const theirs = body.task;
    editing.mine = mine;
    editing.current = {task: theirs, etag};
    const rows = (t, extra = []) => [
      ['Name', t.name], ['Description', t.description], ['Due date', t.due_date],
      ['Project', t.project_id ? projectName(t.project_id) : null], ...extra];
    facts($('conflict-mine'), rows(mine));
    facts($('conflict-theirs'), rows(theirs, [['Completed', theirs.completed ? 'yes' : 'no'], ['Saved at', new Date(theirs.updated_at).toLocaleString()]]));
    openDialog($('conflict-dialog'));
    $('conflict-reload').focus();
  } catch (err) {
    report(err, $('task-edit').querySelector('.error'));
  }
}

export function setup() {
  $('task-filters').addEventListener('submit', (e) => {
    e.preventDefault();
    view.filters = readFilters();
    view.tokens = [null];
    view.page = 0;
    load();
  });
  $('task-filters').addEventListener('reset', () => setTimeout(() => {
    view.filters = readFilters();
    view.tokens = [null];
    view.page = 0;
    load();
  }));
  $('task-prev').addEventListener('click', () => {
    if (view.page > 0) view.page--;
    load();
  });
  $('task-next').addEventListener('click', () => {
    if (!view.next) return;
    view.tokens[++view.page] = view.next;
    load().then(() => $('task-list').querySelector('button')?.focus());
  });
  $('task-new').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.currentTarget;
    const task = {name: f.elements.name.value.trim()};
    for (const n of ['description', 'due_date', 'project_id']) {
      const v = formValue(f, n);
      if (v !== null) task[n] = v;
    }
    clearError();
    try {
      await busy(f, () => request('POST', '/tasks', {body: task}));
      f.reset();
      say(`Added “${task.name}”.`);
      await load();
      f.elements.name.focus();
    } catch (err) {
      report(err);
    }
  });
  $('task-edit').addEventListener('submit', (e) => {
    e.preventDefault();
    save(editorValues(), editing.etag);
  });
  $('conflict-reload').addEventListener('click', () => {
    fillEditor(editing.current.task, editing.current.etag);
    $('conflict-dialog').close();
    say('Loaded the saved version: your changes were discarded.');
    $('e-name').focus();
  });
  $('conflict-overwrite').addEventListener('click', () => save(editing.mine, editing.current.etag));
}
