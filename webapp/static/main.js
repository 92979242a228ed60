// Task Manager: the application's start, its screens and its routes
// (#tasks, #tasks/project/ID, #projects, #me).
import * as auth from './auth.js';
import {request, SessionEnded} from './api.js';
import * as tasks from './tasks.js';
import * as projects from './projects.js';
import {$, say, showError, clearError, facts} from './ui.js';

const views = ['loading', 'signin', 'tasks', 'projects', 'me'];

function show(name) {
  for (const v of views) $(`view-${v}`).hidden = v !== name;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const signedIn = !['loading', 'signin'].includes(name);
  $('nav').hidden = !signedIn;
  $('who').hidden = !signedIn;
}

// showSignIn is the signed-out screen, with why.
function showSignIn(message) {
  show('signin');
  $('signin-message').textContent = message;
  document.title = 'Sign in · Task Manager';
  $('sign-in').focus();
}

async function route() {
  if (!auth.accessToken()) return;
  clearError();
  const [name, ...rest] = (location.hash.slice(1) || 'tasks').split('/');
  if (name === 'projects') {
    show('projects');
    document.title = 'Projects · Task Manager';
    await projects.load();
  } else if (name === 'me') {
    show('me');
    document.title = 'Account · Task Manager';
    await me();
  } else {
    if (rest[0] === 'project' && rest[1]) tasks.showProjectTasks(decodeURIComponent(rest[1]));
    show('tasks');
    document.title = 'Tasks · Task Manager';
    await tasks.load();
  }
  $('main').focus({preventScroll: true});
}

async function me() {
  try {
    const {body} = await request('GET', '/me');
    facts($('me-list'), [
      ['User id (sub)', body.sub],
      ['Scopes', body.scopes.join(' ')],
      ['Permissions', body.permissions.join(' ')],
      ['Token expires', body.expires_at ? new Date(body.expires_at).toLocaleString() : null],
    ]);
  } catch (err) {
    if (!(err instanceof SessionEnded)) showError(err);
  }
}

function ended(reason, detail) {
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  showSignIn(reason === 'expired'
    ? 'Your session has expired. Sign in again to go on.'
    : `The API no longer accepts your sign-in${detail ? ` (${detail})` : ''}. Sign in again to go on.`);
}

async function signIn() {
  clearError();
  try {
    await auth.signIn();
  } catch (err) {
    showError(err);
  }
}

async function start() {
  $('sign-in').addEventListener('click', signIn);
  $('sign-out').addEventListener('click', async () => {
    if (!await auth.signOut()) showSignIn('You are signed out of this application. The identity provider offers no sign-out, so its own session may still be open.');
  });
  tasks.setup();
  projects.setup();
  let config;
  try {
    const res = await fetch('/app/config.json', {cache: 'no-store'});
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    config = await res.json();
  } catch (err) {
    showSignIn('The application is not configured.');
    showError(new Error(`Cannot read /app/config.json: ${err.message}`));
    return;
  }
  auth.configure(config, {ended});
  try {
    if (location.pathname === '/app/callback') {
      await auth.completeSignIn();
    } else if (auth.signedOut()) {
      showSignIn('You are signed out.');
      return;
    } else {
      await auth.signIn(); // leaves the page
      return;
    }
  } catch (err) {
    showSignIn('Signing in did not work.');
    showError(err);
    return;
  }
  const u = auth.user();
  $('who-name').textContent = `Signed in as ${u.name}`;
  say(`Signed in as ${u.name}.`);
  window.addEventListener('hashchange', route);
  await projects.refreshChoices();
  await route();
}

start();
