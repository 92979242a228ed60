package taskapi

import "testing"

func TestLimitErrors(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{TooManyTasks(100_000), "You have reached the limit of 100000 tasks per user: delete some to create more"},
		{TooManyProjects(1), "You have reached the limit of 1 project per user: delete some to create more"},
	} {
		if tc.err.Code != ELIMIT || tc.err.Message != tc.want || ErrorCode(tc.err) != "ERR_LIMIT" {
			t.Errorf("got %s %q, want ERR_LIMIT %q", tc.err.Code, tc.err.Message, tc.want)
		}
	}
	for _, l := range []Limits{{}, {Tasks: DefaultMaxTasks, Projects: DefaultMaxProjects}} {
		if err := l.Check(); err != nil {
			t.Errorf("%+v: %v", l, err)
		}
	}
	for _, l := range []Limits{{Tasks: -1}, {Projects: -1}} {
		if l.Check() == nil {
			t.Errorf("%+v: no error for a negative limit", l)
		}
	}
}
