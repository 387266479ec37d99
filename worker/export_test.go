package worker

// SetApplyHook makes w run hook before each membership transaction (a
// slow batch, for the tests).
func SetApplyHook(w *Worker, hook func()) { w.applyHook = hook }
