package taskapi

import "context"

// UserData is everything the service keeps of one user: what GET
// /me/export hands out and DELETE /me erases.
type UserData struct {
	// Projects and Tasks are ordered by creation (created_at, then id).
	Projects []*Project
	Tasks    []*Task
}

// UserDeletion counts the rows DeleteUserData removed.
type UserDeletion struct {
	Tasks    int64
	Projects int64
	// IdempotencyKeys are the saved responses of the user's writes sent
	// with an Idempotency-Key (KeyClaimer), which hold the user's data
	// too.
	IdempotencyKeys int64
}

// UserDataStore reads and erases all of one user's rows, as privacy law
// (the GDPR's rights of access and erasure) expects of a service holding
// personal data. Like every IssuerStore method, it is scoped by the user
// id and the store's issuer.
type UserDataStore interface {
	// UserData returns every project and task of userID, read from one
	// snapshot of the database, so that a task never names a project
	// missing from the same export. A user without rows gets empty,
	// non-nil slices.
	UserData(ctx context.Context, userID string) (*UserData, error)
	// DeleteUserData deletes every task, project and saved idempotency
	// key response of userID in one transaction: all or nothing. A user
	// without rows deletes nothing and gets no error.
	DeleteUserData(ctx context.Context, userID string) (UserDeletion, error)
}
