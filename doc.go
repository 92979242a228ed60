// Package taskapi is the domain of the Task Manager API: tasks and projects
// owned by a user (the access token's subject), the rules that keep them
// valid, the change feed clients sync with (Change), the storage interfaces
// the service needs, and the error codes every layer speaks.
//
// The package does no I/O. Stores live in sqlite/ and postgres/, the HTTP
// layer in httpapi/, and bearer-token validation in bearer/, which knows
// nothing of tasks.
package taskapi
