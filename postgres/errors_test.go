package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/taskapi/taskapi"
)

func TestMapErrorTimeouts(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	live := context.Background()
	driverTimeout := fmt.Errorf("failed to connect: %w", context.DeadlineExceeded)
	tests := []struct {
		name        string
		ctx         context.Context
		err         error
		unavailable bool
		is          error
	}{
		{"deadline passed under a statement", expired, errors.New("conn closed"), true, context.DeadlineExceeded},
		{"caller cancelled", cancelled, errors.New("conn closed"), false, context.Canceled},
		{"connect_timeout, caller still waiting", live, driverTimeout, true, context.DeadlineExceeded},
		{"cancelled without the caller's context", live, context.Canceled, false, context.Canceled},
	}
	for _, tt := range tests {
		err := mapError(tt.ctx, "op", tt.err)
		var apiErr *taskapi.Error
		got := errors.As(err, &apiErr) && apiErr.Code == taskapi.EUNAVAILABLE
		if got != tt.unavailable || !errors.Is(err, tt.is) {
			t.Errorf("%s: %v; EUNAVAILABLE %v, want %v; want errors.Is %v", tt.name, err, got, tt.unavailable, tt.is)
		}
	}
}
