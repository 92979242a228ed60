package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/taskapi/taskapi"
)

// etag returns the strong entity tag of version version of resource id:
// "<id>-<version>". The id keeps a tag of one resource from matching
// another's.
func etag(id string, version int64) string {
	return `"` + id + "-" + strconv.FormatInt(version, 10) + `"`
}

// entityTag is one member of an If-Match or If-None-Match list.
type entityTag struct {
	weak   bool
	opaque string // with its quotes
}

// parseETags reads an If-Match or If-None-Match value: "*" or a comma
// separated list of entity tags (RFC 9110 §8.8.3). Members that are not
// entity tags are skipped.
func parseETags(v string) (tags []entityTag, star bool) {
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "*" {
			star = true
			continue
		}
		weak := strings.HasPrefix(part, "W/")
		part = strings.TrimPrefix(part, "W/")
		if len(part) < 2 || part[0] != '"' || part[len(part)-1] != '"' || strings.Contains(part[1:len(part)-1], `"`) {
			continue
		}
		tags = append(tags, entityTag{weak: weak, opaque: part})
	}
	return tags, star
}

// notModified reports whether r's If-None-Match matches current, with the
// weak comparison RFC 9110 §13.1.2 asks for.
func notModified(r *http.Request, current string) bool {
	v := r.Header.Get("If-None-Match")
	if v == "" {
		return false
	}
	tags, star := parseETags(v)
	return star || slices.ContainsFunc(tags, func(t entityTag) bool { return t.opaque == current })
}

// precondition turns r's If-Match into a store Precondition on resource
// id (strong comparison, RFC 9110 §13.1.1). With no If-Match, or "*", the
// write is unconditional (a missing resource is still a 404). When the
// header names exactly one version of this resource, the store checks it
// atomically. Otherwise, current reads the resource's version: a missing
// resource stays a 404 (whatever the header says, so another user's ids
// stay hidden), a version in the list is checked atomically, and no match
// is a 412.
func precondition(ctx context.Context, r *http.Request, id string, current func(context.Context) (int64, error)) (taskapi.Precondition, error) {
	v := r.Header.Get("If-Match")
	if v == "" {
		return taskapi.Precondition{}, nil
	}
	tags, star := parseETags(v)
	if star {
		return taskapi.Precondition{}, nil
	}
	var versions []int64
	prefix := `"` + id + "-"
	for _, t := range tags {
		if t.weak || !strings.HasPrefix(t.opaque, prefix) {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(t.opaque[len(prefix):], `"`), 10, 64)
		if err == nil && n > 0 {
			versions = append(versions, n)
		}
	}
	if len(versions) == 1 {
		return taskapi.Precondition{IfVersion: versions[0]}, nil
	}
	version, err := current(ctx)
	if err != nil {
		return taskapi.Precondition{}, err
	}
	if !slices.Contains(versions, version) {
		return taskapi.Precondition{}, taskapi.PreconditionFailed()
	}
	return taskapi.Precondition{IfVersion: version}, nil
}
