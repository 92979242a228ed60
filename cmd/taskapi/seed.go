package main

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/httpapi"
)

func runSeed(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "seed", "seed -user SUB [-user SUB ...] [-issuer URL]", "")
	issuer := fs.String("issuer", "", "the `URL` of the issuer of the users' tokens (default: ISSUER or ISSUER_BASE_URL, else the development issuer)")
	var users []string
	fs.Func("user", "the `sub` of a user to seed (repeatable); the sub claim of the user's access token", func(s string) error {
		users = append(users, s)
		return nil
	})
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, cfgErr := readConfig(env.getenv, "seed")
	users = append(users, cfg.SeedUsers...)
	if len(users) == 0 {
		return errors.New("seed: no users: give -user SUB (the sub claim of your access token) or set SEED_USERS")
	}
	for _, u := range users {
		if err := checkSubject(u); err != nil {
			return fmt.Errorf("seed: -user %q: %w", truncate(u, 60), err)
		}
	}
	if cfgErr != nil {
		return cfgErr
	}
	iss, err := seedIssuer(*issuer, cfg)
	if err != nil {
		return err
	}
	db := cfg.Database
	// Not capped: seeding is the operator's, and a second run must find
	// the rows of the first (ECONFLICT) even for a user at a cap.
	store, err := openStore(ctx, db, taskapi.Limits{}, 0)
	if err != nil {
		return err
	}
	defer store.Close()
	for _, u := range users {
		n, err := seedUser(ctx, store, iss, u, time.Now())
		if err != nil {
			return fmt.Errorf("seed %s: %w", u, err)
		}
		fmt.Fprintf(env.stdout, "seeded %s of %s: 1 project and 2 tasks (%d created, %d already there) in %s\n", u, iss, n, 3-n, db)
	}
	return nil
}

// seedIssuer returns the canonical issuer of the users to seed: flag when
// given, else the configured single issuer, else the development issuer
// (of taskapi dev and taskapi token).
func seedIssuer(flag string, cfg config) (string, error) {
	switch {
	case flag != "":
		return httpapi.CanonicalIssuer(flag), nil
	case len(cfg.Bearer.Issuers.URLs) > 1 && !cfg.SharedSubjects:
		return "", errors.New("seed: with several ISSUERS, give -issuer URL: the issuer of the users' tokens")
	case cfg.Bearer.Issuer != "" || cfg.Bearer.IssuerBaseURL != "" || len(cfg.Bearer.Issuers.URLs) > 0:
		issuers, _ := cfg.userIssuers()
		return issuers[0], nil
	}
	return httpapi.CanonicalIssuer(issuerURL(devIssuerAddr)), nil
}

// checkSubject checks a user id as the API would accept it from a token.
func checkSubject(sub string) error {
	switch {
	case sub == "":
		return errors.New("empty")
	case !utf8.ValidString(sub):
		return errors.New("not valid UTF-8")
	case utf8.RuneCountInString(sub) > taskapi.MaxUserIDLen:
		return fmt.Errorf("longer than %d characters", taskapi.MaxUserIDLen)
	}
	return nil
}

// seedIDEncoding is the alphabet of taskapi.NewID, so seeded ids look like
// any other.
var seedIDEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// seedID derives the id of one seeded row from the user (issuer and sub),
// so that seeding again finds the rows it made before.
func seedID(issuer, sub, role string) string {
	sum := sha256.Sum256([]byte("taskapi seed v2\x00" + issuer + "\x00" + sub + "\x00" + role))
	return seedIDEncoding.EncodeToString(sum[:16])
}

// seedUser gives user sub of issuer the tutorial's demo data: one project and two
// tasks due in the future, the first without a project and the second in
// it. Rows that exist already (same derived id) are kept as they are, so
// seeding twice leaves the same data. It returns how many rows it created.
func seedUser(ctx context.Context, all taskapi.Store, issuer, sub string, now time.Time) (int, error) {
	store := all.ForIssuer(issuer)
	str := func(s string) *string { return &s }
	due := func(days int) *taskapi.Date { d := taskapi.DateOf(now.UTC().AddDate(0, 0, days)); return &d }
	projectID := seedID(issuer, sub, "project")
	created := 0
	exists := func(err error) (bool, error) {
		switch taskapi.ErrorCode(err) {
		case "":
			created++
			return false, nil
		case taskapi.ECONFLICT:
			return true, nil
		}
		return false, err
	}
	err := store.CreateProject(ctx, &taskapi.Project{
		ID:          projectID,
		UserID:      sub,
		Name:        "Garden",
		Description: str("A demo project from taskapi seed."),
	})
	if _, err := exists(err); err != nil {
		return created, fmt.Errorf("project: %w", err)
	}
	tasks := []*taskapi.Task{{
		ID:          seedID(issuer, sub, "task-1"),
		UserID:      sub,
		Name:        "Renew passport",
		Description: str("A demo task without a project, from taskapi seed."),
		DueDate:     due(7),
	}, {
		ID:          seedID(issuer, sub, "task-2"),
		UserID:      sub,
		ProjectID:   &projectID,
		Name:        "Plant tomatoes",
		Description: str("A demo task in the Garden project, from taskapi seed."),
		DueDate:     due(14),
	}}
	for i, t := range tasks {
		if err := t.Validate(now); err != nil {
			return created, err
		}
		if _, err := exists(store.CreateTask(ctx, t)); err != nil {
			return created, fmt.Errorf("task %d: %w", i+1, err)
		}
	}
	return created, nil
}
