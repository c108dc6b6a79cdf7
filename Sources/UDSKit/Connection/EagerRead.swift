/// Whether a client reads right after writing, before epoll says a reply has come: a per-reactor guess from how
/// often that found something.
///
/// When server and client share a CPU, a write wakes the server, the scheduler lets it run at once, and its reply
/// is often in the socket before the write returns; reading then saves an `epoll_wait` and a trip through the loop
/// (a framed round trip, a one-message exchange). On another CPU the reply is not there yet and the read is an
/// `EAGAIN` wasted. So the guess keeps a small credit: a read that found something earns one, an empty one costs two,
/// and without credit it tries again only every 64th time, to notice when things change.
struct EagerRead {
    private var credit = 4
    private var skipped = 0

    /// Whether to read now.
    mutating func shouldTry() -> Bool {
        if credit > 0 { return true }
        skipped += 1
        guard skipped >= 64 else { return false }
        skipped = 0
        credit = 1
        return true
    }

    /// What the read found.
    mutating func record(found: Bool) {
        credit = found ? min(credit + 1, 16) : credit - 2
    }
}
