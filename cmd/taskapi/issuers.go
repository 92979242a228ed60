package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/taskapi/taskapi"
	"github.com/taskapi/taskapi/bearer"
	"github.com/taskapi/taskapi/httpapi"
)

// userIssuers returns the issuers whose users the configuration serves,
// canonical, and the issuer a verified token's subject belongs to. With
// one issuer (ISSUER_BASE_URL, or ISSUER) every token is that issuer's;
// with ISSUERS, each token's own iss, unless ISSUERS_SHARE_SUBJECTS makes
// the first of them the issuer of all.
func (c config) userIssuers() (issuers []string, of func(*bearer.Claims) string) {
	if urls := c.Bearer.Issuers.URLs; len(urls) > 0 {
		for _, u := range urls {
			issuers = append(issuers, httpapi.CanonicalIssuer(u))
		}
		if !c.SharedSubjects {
			return issuers, nil // httpapi's default: the canonical iss
		}
		issuers = issuers[:1]
	} else {
		issuers = []string{httpapi.CanonicalIssuer(cmp.Or(c.Bearer.Issuer, c.Bearer.IssuerBaseURL))}
	}
	return issuers, func(*bearer.Claims) string { return issuers[0] }
}

// adoptRows checks, at start, that the rows in the store belong to the
// configured issuers. Rows written before taskapi recorded issuers get the
// one issuer of a single-issuer configuration; with several issuers their
// issuer is unknown, and the start stops, as it does for rows of an
// issuer that ISSUERS does not list.
func adoptRows(ctx context.Context, log *slog.Logger, store taskapi.Store, cfg config) error {
	issuers, _ := cfg.userIssuers()
	found, err := store.Issuers(ctx)
	if err != nil {
		return err
	}
	multi := len(cfg.Bearer.Issuers.URLs) > 0
	if slices.Contains(found, "") {
		if multi && !cfg.SharedSubjects {
			return fmt.Errorf("the database holds tasks or projects written before taskapi recorded the issuer of their users, "+
				"and with ISSUERS it cannot tell which issuer that was: start taskapi once with ISSUER_BASE_URL set to that issuer "+
				"(it assigns them theirs), then with ISSUERS (%s)", cfg.Database)
		}
		n, err := store.AssignIssuer(ctx, issuers[0])
		if err != nil {
			return err
		}
		log.Info("assigned rows written before issuers were recorded", "issuer", issuers[0], "rows", n)
	}
	if !multi {
		return nil // a single issuer's users never see another's rows
	}
	var unknown []string
	for _, iss := range found {
		if iss != "" && !slices.Contains(issuers, iss) {
			unknown = append(unknown, fmt.Sprintf("%q", iss))
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("the database holds tasks or projects of users of %s, not listed in ISSUERS: "+
			"add it to ISSUERS to keep serving those users (or set ISSUERS_SHARE_SUBJECTS if its subjects are those of the first issuer)", strings.Join(unknown, ", "))
	}
	return nil
}
