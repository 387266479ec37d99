package postgres

import "time"

// SetWatchTimeout changes how long Watch waits for the listener.
func SetWatchTimeout(s *Store, d time.Duration) { s.cfg.watchTimeout = d }

// Subscribers reports how many Watch subscriptions project has.
func Subscribers(s *Store, project string) int { return s.feed.Subscribers(project) }

// UsageSQL and ListSQL are the queries of a project's active segments:
// the usage the limits check, and List's.
const (
	UsageSQL = usageSQL
	ListSQL  = listSQL
)

// ListenerPID is the process id of the listener's backend.
func ListenerPID(s *Store) uint32 { return s.listenPID.Load() }

// Reconnects is how many times the listener reconnected.
func Reconnects(s *Store) int64 { return s.reconnects.Load() }

// WithHeartbeat sets how long the listener waits without a notification
// before it pings its connection (default 30s).
func WithHeartbeat(d time.Duration) Option { return func(c *config) { c.heartbeat = d } }
