import Testing

/// The parent of every suite of the library's tests, which run one test at a time.
///
/// Several tests load every core of a small machine for seconds (a thousand clients at once, 256 MiB streamed, a
/// server under a lowered descriptor limit); run beside them, the event loops of other tests' servers get so little
/// CPU that their clients hit the server's idle timeout and their shutdowns miss generous limits. One at a time,
/// each test has the machine to itself, and its time limits mean what they say.
@Suite(.serialized) struct LibraryTests {}
