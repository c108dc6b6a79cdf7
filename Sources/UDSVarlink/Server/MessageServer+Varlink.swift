public import Logging
public import UDSKit

extension MessageServer {
    /// Creates a server that serves `service` over varlink: NUL-terminated JSON on stream connections.
    ///
    /// `configuration` applies as for any framed server (authorization, limits, activation, handover, shutdown),
    /// with ``MessageServer/Configuration/framing`` set to `.delimited(0)`. Each connection's calls run on the event
    /// loop that reads them (``MessageServer/Configuration/runsHandlersOnEventLoop``) unless `handlersRunOnEventLoop`
    /// is `false`: that saves two thread wake-ups per call, but a method that blocks the thread (rather than
    /// awaiting) stalls the other connections of its loop; pass `false` for such handlers. Its
    /// ``MessageServer/Configuration/maximumFrameSize`` (default 16 MiB) is the largest message accepted: a longer
    /// one, like malformed JSON, closes that connection with a log line.
    public convenience init(
        address: UnixSocketAddress,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "UDSKit.Varlink"),
        varlinkService service: VarlinkService,
        handlersRunOnEventLoop: Bool = true
    ) {
        var configuration = configuration
        configuration.framing = .delimited(0)
        configuration.runsHandlersOnEventLoop = handlersRunOnEventLoop
        self.init(address: address, configuration: configuration, logger: logger, framedHandler: service.framedHandler)
    }
}
