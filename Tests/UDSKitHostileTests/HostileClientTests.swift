import Testing

/// Hostile clients against a real server: junk, malformed frames, idle and half-open connections, storms, clients
/// that never read. Honest clients are served throughout, memory stays bounded and every acknowledgement is true.
///
/// The suites below are nested in this one so that they run one at a time: each loads the machine (thousands of
/// sockets, dozens of threads) and some measure a server's memory or descriptors, which a neighbour would blur.
@Suite("Hostile clients", .serialized)
enum HostileClientTests {}
