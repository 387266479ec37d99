package postgres

import "time"

// SetWatchTimeout changes how long Watch waits for the listener.
func SetWatchTimeout(s *Store, d time.Duration) { s.cfg.watchTimeout = d }

// Subscribers reports how many Watch subscriptions project has.
func Subscribers(s *Store, project string) int { return s.feed.Subscribers(project) }
