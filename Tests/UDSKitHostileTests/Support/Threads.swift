import Foundation

/// A blocking sleep, for threads of our own: how a trickling client stalls between bytes (the behaviour under test,
/// not a wait for something to happen).
func sleep(milliseconds: Int) { usleep(useconds_t(milliseconds * 1000)) }
