package webapp_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/taskapi/taskapi/httpapi"
)

// Selectors of the application.
const (
	tasksView   = `!document.getElementById("view-tasks").hidden`
	signInView  = `!document.getElementById("view-signin").hidden`
	issuerPage  = `location.pathname === "/authorize" && !!document.getElementById("user")`
	taskList    = "#task-list"
	dialogOpen  = `document.getElementById(%q).open`
	futureDate  = "2031-05-06"
	futureDate2 = "2031-07-08"
)

func taskItem(name string) string { return fmt.Sprintf(`#task-list li[data-name=%q]`, name) }

func taskButton(name, action string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`%s button[data-action=%q]`, taskItem(name), action))
}

// setField sets a form field's value as a person's input would (with
// input and change events).
func setField(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(e => { e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true}));
		e.dispatchEvent(new Event("change", {bubbles: true})); })(document.getElementById(%q))`, value, id))
}

func exists(css string) string    { return fmt.Sprintf(`!!document.querySelector(%q)`, css) }
func notExists(css string) string { return fmt.Sprintf(`!document.querySelector(%q)`, css) }

// signIn goes through the development issuer's page as user, from a page
// that sent the browser there.
func (b *browser) signIn(user string) {
	b.t.Helper()
	b.waitFor("the issuer's sign-in page", issuerPage)
	b.do("sign in as "+user,
		setField("user", ""),
		chromedp.SendKeys(chromedp.ID("user"), user),
		chromedp.Click(chromedp.CSS(`button[value="signin"]`)),
	)
	b.waitFor("the application, signed in", fmt.Sprintf(`!document.getElementById("who").hidden && document.getElementById("who-name").textContent.includes(%q)`, user))
}

// chooseProject selects the option named name in a project select.
func (b *browser) chooseProject(selectID, name string) {
	b.t.Helper()
	value := eval[string](b, fmt.Sprintf(`[...document.getElementById(%q).options].find(o => o.textContent === %q)?.value ?? ""`, selectID, name))
	if value == "" {
		b.shot("FAILED-choose-project")
		b.t.Fatalf("no project %q in #%s", name, selectID)
	}
	b.do("choose project "+name, chromedp.SetValue(chromedp.ID(selectID), value))
}

// TestBrowserApp walks the application as a user does: sign in at the
// development issuer, tasks and projects, a conflict with a second
// session, errors, pages, a token the API stops accepting, reload, sign out.
func TestBrowserApp(t *testing.T) {
	axe := axeSource(t)
	srv := startServer(t, serverOptions{})
	b := newBrowser(t, "main", 1280, 900)
	t.Logf("screenshots: %s", b.shots)

	// Opening the application sends the browser to the issuer's page.
	b.do("open the application", chromedp.Navigate(srv.url+"/"))
	b.waitFor("the issuer's sign-in page", issuerPage)
	if got := eval[string](b, `document.getElementById("user").value`); got != "dev|demo-user" {
		t.Errorf("the sign-in page proposes %q, want dev|demo-user", got)
	}
	b.shot("01-issuer-sign-in")
	b.signIn(testUser)
	b.waitFor("the task list", tasksView)
	if got := eval[string](b, `location.pathname + location.search`); got != "/" {
		t.Errorf("after sign-in the address is %q: the code must not stay in it", got)
	}
	if got := eval[int](b, `localStorage.length + sessionStorage.length`); got != 0 {
		t.Errorf("storage holds %d items after sign-in; the token must live in memory only", got)
	}
	b.checkAccessibility("empty task list", axe)

	// Create a task, from the keyboard: type and press Enter.
	b.do("create a task",
		chromedp.SendKeys(chromedp.ID("n-name"), "Buy milk"),
		setField("n-due", futureDate),
		chromedp.SendKeys(chromedp.ID("n-name"), kb.Enter),
	)
	b.waitFor("the new task in the list", exists(taskItem("Buy milk")))
	if got := b.text(taskItem("Buy milk")); !strings.Contains(got, "Due "+futureDate) {
		t.Errorf("the new task reads %q, want its due date", got)
	}

	// A project, then the task moved into it.
	b.do("open projects", chromedp.Click(chromedp.CSS(`#nav a[data-view="projects"]`)))
	b.waitFor("the projects view", `!document.getElementById("view-projects").hidden`)
	b.do("create a project",
		chromedp.SendKeys(chromedp.ID("p-name"), "Home"),
		chromedp.Click(chromedp.CSS(`#project-new button[type="submit"]`)),
	)
	b.waitFor("the new project", exists(`#project-list li[data-name="Home"]`))
	b.checkAccessibility("projects", axe)
	b.do("rename the project", chromedp.Click(chromedp.CSS(`#project-list li[data-name="Home"] button[data-action="rename"]`)))
	b.waitFor("the rename dialog", fmt.Sprintf(dialogOpen, "project-dialog"))
	b.do("type the new name",
		setField("pe-name", ""),
		chromedp.SendKeys(chromedp.ID("pe-name"), "Household"+kb.Enter),
	)
	b.waitFor("the renamed project", exists(`#project-list li[data-name="Household"]`))

	b.do("back to tasks", chromedp.Click(chromedp.CSS(`#nav a[data-view="tasks"]`)))
	b.waitFor("the task list", tasksView+" && "+exists(taskItem("Buy milk")))
	b.do("edit the task", chromedp.Click(taskButton("Buy milk", "edit")))
	b.waitFor("the edit dialog", fmt.Sprintf(dialogOpen, "task-dialog"))
	b.checkAccessibility("edit dialog", axe)
	b.do("change name and project", setField("e-name", "Buy oat milk"))
	b.chooseProject("e-project", "Household")
	b.do("save", chromedp.Click(chromedp.CSS(`#task-edit button[type="submit"]`)))
	b.waitFor("the edited task", exists(taskItem("Buy oat milk")))
	if got := b.text(taskItem("Buy oat milk")); !strings.Contains(got, "Project: Household") {
		t.Errorf("the edited task reads %q, want its project", got)
	}
	// A project's tasks, from its link on the projects view.
	srv.call(t, "POST", "/tasks", `{"name":"Outside the project"}`, nil)
	b.do("open projects", chromedp.Click(chromedp.CSS(`#nav a[data-view="projects"]`)))
	b.do("open the project's tasks", chromedp.Click(chromedp.CSS(`#project-list li[data-name="Household"] a[data-action="tasks"]`)))
	b.waitFor("the project's tasks only", tasksView+` && [...document.querySelectorAll("#task-list li")].map(li => li.dataset.name).join() === "Buy oat milk"`)
	b.do("clear the filters", chromedp.Click(chromedp.CSS(`#task-filters button[type="reset"]`)))
	b.waitFor("every task", exists(taskItem("Outside the project")))
	srv.call(t, "DELETE", "/tasks/"+taskID(t, srv, "Outside the project"), "", nil)

	// Escape closes a dialog and gives the focus back.
	b.do("open the editor again", chromedp.Click(taskButton("Buy oat milk", "edit")))
	b.waitFor("the edit dialog", fmt.Sprintf(dialogOpen, "task-dialog"))
	b.do("press Escape", chromedp.KeyEvent(kb.Escape))
	b.waitFor("the focus back on the Edit button", `!document.getElementById("task-dialog").open && document.activeElement?.dataset.action === "edit"`)

	// Complete, reopen.
	b.do("complete", chromedp.Click(taskButton("Buy oat milk", "complete")))
	b.waitFor("the task completed", exists(taskItem("Buy oat milk")+".done"))
	b.do("reopen", chromedp.Click(taskButton("Buy oat milk", "reopen")))
	b.waitFor("the task open again", exists(taskItem("Buy oat milk")+":not(.done)"))

	// A conflict: this session opens the editor, a second session (another
	// browser, signed in as the same user) saves the task first.
	b.do("open the editor", chromedp.Click(taskButton("Buy oat milk", "edit")))
	b.waitFor("the edit dialog", fmt.Sprintf(dialogOpen, "task-dialog"))
	other := newBrowser(t, "second", 1024, 800)
	other.do("open the application", chromedp.Navigate(srv.url+"/"))
	other.signIn(testUser)
	other.waitFor("the task", tasksView+" && "+exists(taskItem("Buy oat milk")))
	other.do("edit in the second session", chromedp.Click(taskButton("Buy oat milk", "edit")))
	other.waitFor("the edit dialog", fmt.Sprintf(dialogOpen, "task-dialog"))
	other.do("save another name",
		setField("e-name", "Buy soy milk"),
		chromedp.Click(chromedp.CSS(`#task-edit button[type="submit"]`)),
	)
	other.waitFor("the second session's change", exists(taskItem("Buy soy milk")))
	other.checkClean()

	b.do("change the description and save",
		chromedp.SendKeys(chromedp.ID("e-description"), "Two litres"),
		chromedp.Click(chromedp.CSS(`#task-edit button[type="submit"]`)),
	)
	b.waitFor("the conflict dialog", fmt.Sprintf(dialogOpen, "conflict-dialog"))
	if !srv.saw("PATCH /tasks/" + taskID(t, srv, "Buy soy milk") + " 412") {
		t.Errorf("the API did not answer 412 to the stale save")
	}
	mine, theirs := b.text("#conflict-mine"), b.text("#conflict-theirs")
	if !strings.Contains(mine, "Buy oat milk") || !strings.Contains(mine, "Two litres") || !strings.Contains(theirs, "Buy soy milk") {
		t.Errorf("the conflict shows mine %q and theirs %q", mine, theirs)
	}
	b.shot("02-conflict")
	b.checkAccessibility("conflict dialog", axe)
	b.do("reload the saved version", chromedp.Click(chromedp.ID("conflict-reload")))
	b.waitFor("the editor with the saved version", `document.getElementById("e-name").value === "Buy soy milk" && !document.getElementById("conflict-dialog").open`)
	b.do("change it again and save",
		setField("e-name", "Buy oat milk"),
		chromedp.Click(chromedp.CSS(`#task-edit button[type="submit"]`)),
	)
	b.waitFor("the saved task", exists(taskItem("Buy oat milk"))+` && !document.getElementById("task-dialog").open`)
	// Once more, overwriting this time.
	b.do("open the editor", chromedp.Click(taskButton("Buy oat milk", "edit")))
	b.waitFor("the edit dialog", fmt.Sprintf(dialogOpen, "task-dialog"))
	srv.call(t, "PATCH", "/tasks/"+taskID(t, srv, "Buy oat milk"), `{"name":"Buy rice milk"}`, nil)
	b.do("save the description", chromedp.SendKeys(chromedp.ID("e-description"), "Two litres"),
		chromedp.Click(chromedp.CSS(`#task-edit button[type="submit"]`)))
	b.waitFor("the conflict dialog", fmt.Sprintf(dialogOpen, "conflict-dialog"))
	b.do("overwrite", chromedp.Click(chromedp.ID("conflict-overwrite")))
	b.waitFor("the overwritten task", exists(taskItem("Buy oat milk"))+` && !document.getElementById("conflict-dialog").open`)
	var saved struct {
		Task struct{ Name, Description string }
	}
	srv.call(t, "GET", "/tasks/"+taskID(t, srv, "Buy oat milk"), "", &saved)
	if saved.Task.Name != "Buy oat milk" || saved.Task.Description != "Two litres" {
		t.Errorf("after overwrite the API has %+v", saved.Task)
	}

	// An error is shown as the API says it.
	b.do("create a task due in the past",
		chromedp.SendKeys(chromedp.ID("n-name"), "Too late"),
		setField("n-due", "2001-01-01"),
		chromedp.Click(chromedp.CSS(`#task-new button[type="submit"]`)),
	)
	b.waitFor("the API's error", `!document.getElementById("error").hidden`)
	if got := b.text("#error"); !strings.Contains(got, "422") || !strings.Contains(got, "ERR_VALID") || !strings.Contains(got, "due_date") {
		t.Errorf("the error reads %q, want the API's 422 ERR_VALID with the field", got)
	}
	b.shot("03-validation-error")
	b.do("clear the form", setField("n-name", ""), setField("n-due", ""))

	// Pages, search, filters and sort over a long list.
	for i := 1; i <= 45; i++ {
		body := fmt.Sprintf(`{"name":"Bulk task %02d","due_date":"2031-01-%02d"}`, i, (i-1)%28+1)
		srv.call(t, "POST", "/tasks", body, nil)
	}
	b.do("search Bulk", chromedp.SendKeys(chromedp.ID("f-search"), "Bulk"), chromedp.Click(chromedp.CSS(`#task-filters button[type="submit"]`)))
	b.waitFor("page 1", `document.querySelectorAll("#task-list li").length === 20 && document.getElementById("task-page").textContent === "Page 1"`)
	b.do("next page", chromedp.Click(chromedp.ID("task-next")))
	b.waitFor("page 2", `document.getElementById("task-page").textContent === "Page 2" && document.querySelector("#task-list li").dataset.name === "Bulk task 21"`)
	b.do("next page", chromedp.Click(chromedp.ID("task-next")))
	b.waitFor("page 3, the last", `document.getElementById("task-page").textContent === "Page 3" && document.querySelectorAll("#task-list li").length === 5 && document.getElementById("task-next").disabled`)
	b.do("previous page", chromedp.Click(chromedp.ID("task-prev")))
	b.waitFor("page 2 again", `document.getElementById("task-page").textContent === "Page 2" && document.querySelector("#task-list li").dataset.name === "Bulk task 21"`)
	b.do("sort by name, Z to A", setField("f-sort", "-name"), chromedp.Click(chromedp.CSS(`#task-filters button[type="submit"]`)))
	b.waitFor("Bulk task 45 first", `document.querySelector("#task-list li")?.dataset.name === "Bulk task 45" && document.getElementById("task-page").textContent === "Page 1"`)
	b.do("due before 2031-01-03, soonest first",
		setField("f-due-before", "2031-01-03"), setField("f-sort", "due_date"),
		chromedp.Click(chromedp.CSS(`#task-filters button[type="submit"]`)))
	// due_before is exclusive: the tasks due on the 1st and the 2nd, soonest
	// first (two on each day, in either order).
	b.waitFor("the tasks due before", `[...document.querySelectorAll("#task-list li")].map(li => li.dataset.name.slice(-2)).map(n => ["01","29"].includes(n) ? "a" : ["02","30"].includes(n) ? "b" : n).join() === "a,a,b,b"`)
	b.do("clear the filters", chromedp.Click(chromedp.CSS(`#task-filters button[type="reset"]`)))
	b.waitFor("all tasks", `document.querySelectorAll("#task-list li").length === 20`)
	b.chooseProject("f-project", "Household")
	b.do("filter by project", chromedp.Click(chromedp.CSS(`#task-filters button[type="submit"]`)))
	b.waitFor("the project's task", `[...document.querySelectorAll("#task-list li")].map(li => li.dataset.name).join() === "Buy oat milk"`)
	if !srv.saw("GET /projects/" + projectID(t, srv, "Household") + "/tasks 200") {
		t.Error("the project's tasks did not come from GET /projects/{id}/tasks")
	}
	b.do("completed only", setField("f-project", ""), setField("f-completed", "true"),
		chromedp.Click(chromedp.CSS(`#task-filters button[type="submit"]`)))
	b.waitFor("no completed task", `document.querySelectorAll("#task-list li").length === 0 && !document.getElementById("task-empty").hidden`)
	b.do("clear the filters", chromedp.Click(chromedp.CSS(`#task-filters button[type="reset"]`)))
	b.waitFor("all tasks", `document.querySelectorAll("#task-list li").length === 20`)
	b.do("a screen as wide as the README's", chromedp.EmulateViewport(1000, 800))
	shot := b.fullShot("04-task-list")
	b.do("back to the window's size", chromedp.EmulateViewport(1280, 900))
	if *updateScreenshot {
		png, err := os.ReadFile(shot)
		if err == nil {
			err = os.WriteFile(filepath.Join("..", "docs", "webapp.png"), png, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	// Delete, after confirming; cancelling deletes nothing.
	id := taskID(t, srv, "Buy oat milk")
	b.do("delete", chromedp.Click(taskButton("Buy oat milk", "delete")))
	b.waitFor("the confirmation", fmt.Sprintf(dialogOpen, "confirm-dialog"))
	b.do("cancel", chromedp.KeyEvent(kb.Escape))
	b.waitFor("the confirmation closed", `!document.getElementById("confirm-dialog").open`)
	b.do("delete", chromedp.Click(taskButton("Buy oat milk", "delete")))
	b.waitFor("the confirmation", fmt.Sprintf(dialogOpen, "confirm-dialog"))
	b.do("confirm", chromedp.Click(chromedp.ID("confirm-yes")))
	b.waitFor("the task gone", notExists(taskItem("Buy oat milk"))+` && document.querySelectorAll("#task-list li").length === 20`)
	if n := strings.Count(strings.Join(srv.requests(), "\n"), "DELETE /tasks/"+id+" 204"); n != 1 {
		t.Errorf("the task was deleted %d times, want once", n)
	}

	// Who am I.
	b.do("open the account", chromedp.Click(chromedp.CSS(`#nav a[data-view="me"]`)))
	b.waitFor("GET /me", fmt.Sprintf(`document.getElementById("me-list").textContent.includes(%q)`, testUser))
	b.checkAccessibility("account", axe)

	// The API stops accepting the token: the sign-in screen says so, and
	// signing in again needs no page while the issuer's session lasts.
	srv.revoked.Store(true)
	b.do("open tasks", chromedp.Click(chromedp.CSS(`#nav a[data-view="tasks"]`)))
	b.waitFor("the sign-in screen", signInView+` && document.getElementById("signin-message").textContent.includes("no longer accepts")`)
	b.checkAccessibility("sign-in screen", axe)
	srv.revoked.Store(false)
	b.do("sign in again", chromedp.Click(chromedp.ID("sign-in")))
	b.waitFor("the tasks, without the issuer's page", tasksView+" && "+exists(taskItem("Bulk task 01")))

	// A reload forgets the token and signs in again, silently.
	b.do("reload", chromedp.Reload())
	b.waitFor("the tasks after the reload", tasksView+" && "+exists(taskItem("Bulk task 01")))

	// Usable at 360 px: nothing wider than the screen.
	b.do("a 360 px screen", chromedp.EmulateViewport(360, 740))
	b.waitFor("no horizontal scrolling", `document.documentElement.scrollWidth <= 360`)
	b.shot("05-narrow")
	b.do("back to a wide screen", chromedp.EmulateViewport(1280, 900))

	// Sign out: the issuer's session ends too, so signing in asks again.
	b.do("sign out", chromedp.Click(chromedp.ID("sign-out")))
	b.waitFor("the signed-out screen", signInView+` && document.getElementById("signin-message").textContent === "You are signed out." && location.pathname === "/"`)
	b.do("reload while signed out", chromedp.Reload())
	b.waitFor("still signed out", signInView)
	b.do("sign in", chromedp.Click(chromedp.ID("sign-in")))
	b.waitFor("the issuer's page again", issuerPage)
	b.checkClean()
	// Every write the application sent carried an Idempotency-Key, a new one
	// each time (no retries happened here).
	seen := map[string]bool{}
	for _, w := range srv.writes() {
		key := w[strings.LastIndexByte(w, ' ')+1:]
		if key == "-" || seen[key] {
			t.Errorf("write %s: want a fresh Idempotency-Key", w)
		}
		seen[key] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d writes recorded: %v", len(seen), srv.writes())
	}
}

// TestBrowserSessionExpiry: a token that expires leads to the sign-in
// screen, and signing in again returns to the tasks.
func TestBrowserSessionExpiry(t *testing.T) {
	srv := startServer(t, serverOptions{tokenTTL: 3 * time.Second})
	b := newBrowser(t, "expiry", 1024, 768)
	b.do("open the application", chromedp.Navigate(srv.url+"/#projects"))
	b.signIn(testUser + "-expiry")
	b.waitFor("the view asked for", `!document.getElementById("view-projects").hidden`)
	b.waitFor("the session-expired screen", signInView+` && document.getElementById("signin-message").textContent.includes("expired")`)
	b.shot("01-expired")
	b.do("sign in again", chromedp.Click(chromedp.ID("sign-in")))
	b.waitFor("the projects again, signed in", `!document.getElementById("view-projects").hidden`)
	b.checkClean()
}

// TestBrowserRetryAfter: a 429 is waited out as Retry-After says, then
// the request succeeds.
func TestBrowserRetryAfter(t *testing.T) {
	srv := startServer(t, serverOptions{rateLimit: httpapi.RateLimit{Rate: 0.5, Burst: 1}})
	b := newBrowser(t, "retry", 1024, 768)
	b.do("open the account", chromedp.Navigate(srv.url+"/#me"))
	b.signIn(testUser)
	b.waitFor("GET /me, after waiting", fmt.Sprintf(`document.getElementById("me-list").textContent.includes(%q)`, testUser))
	if !srv.saw("GET /me 429") || !srv.saw("GET /me 200") {
		t.Errorf("want GET /me answered 429 then 200; the API saw %v", srv.requests())
	}
	// A write is retried too, with the same Idempotency-Key.
	b.do("open projects", chromedp.Click(chromedp.CSS(`#nav a[data-view="projects"]`)))
	b.waitFor("the projects view", `!document.getElementById("view-projects").hidden`)
	b.do("create a project", chromedp.SendKeys(chromedp.ID("p-name"), "Retried"+kb.Enter))
	b.waitFor("the project, after waiting", exists(`#project-list li[data-name="Retried"]`))
	var keys []string
	for _, w := range srv.writes() {
		if f := strings.Fields(w); f[1] == "/projects" {
			keys = append(keys, f[2]+" "+f[3])
		}
	}
	if len(keys) < 2 || !strings.HasPrefix(keys[0], "429 ") || !strings.HasPrefix(keys[len(keys)-1], "201 ") ||
		strings.Fields(keys[0])[1] != strings.Fields(keys[len(keys)-1])[1] || strings.Fields(keys[0])[1] == "-" {
		t.Errorf("POST /projects: want 429 then 201 with one Idempotency-Key, got %v", keys)
	}
	b.checkClean()
}

// TestBrowserRefusesForgedCallback: a redirect to the callback that this
// window did not start (a forged or replayed link) signs nobody in.
func TestBrowserRefusesForgedCallback(t *testing.T) {
	srv := startServer(t, serverOptions{})
	b := newBrowser(t, "forged", 1024, 768)
	code := srv.iss.URL() // any value: it must never reach the token endpoint
	b.do("open a forged callback", chromedp.Navigate(srv.url+"/app/callback?code="+code+"&state=forged"))
	b.waitFor("the refusal", signInView+` && document.getElementById("error").textContent.includes("state mismatch")`)
	if got := eval[string](b, `location.pathname + location.search`); got != "/" {
		t.Errorf("the forged code stays in the address: %q", got)
	}
	if !eval[bool](b, `document.getElementById("who").hidden`) {
		t.Error("signed in from a forged callback")
	}
	b.checkClean()
}

// taskID finds a task's id by name through the API.
func taskID(t *testing.T, srv *server, name string) string {
	t.Helper()
	var list struct{ Tasks []struct{ ID, Name string } }
	srv.call(t, "GET", "/tasks?limit=100&search="+strings.ReplaceAll(name, " ", "+"), "", &list)
	for _, task := range list.Tasks {
		if task.Name == name {
			return task.ID
		}
	}
	t.Fatalf("no task %q", name)
	return ""
}

func projectID(t *testing.T, srv *server, name string) string {
	t.Helper()
	var list struct{ Projects []struct{ ID, Name string } }
	srv.call(t, "GET", "/projects?limit=100", "", &list)
	for _, p := range list.Projects {
		if p.Name == name {
			return p.ID
		}
	}
	t.Fatalf("no project %q", name)
	return ""
}
