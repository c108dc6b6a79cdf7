public import Logging
public import UDSKit

extension MessageServer {
    /// Creates a server that serves `service` over varlink: NUL-terminated JSON on stream connections.
    ///
    /// `configuration` applies as for any framed server (authorization, limits, activation, handover, shutdown),
    /// with ``MessageServer/Configuration/framing`` set to `.delimited(0)`. Its
    /// ``MessageServer/Configuration/maximumFrameSize`` (default 16 MiB) is the largest message accepted: a longer
    /// one, like malformed JSON, closes that connection with a log line.
    public convenience init(
        address: UnixSocketAddress,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "UDSKit.Varlink"),
        varlinkService service: VarlinkService
    ) {
        var configuration = configuration
        configuration.framing = .delimited(0)
        self.init(address: address, configuration: configuration, logger: logger, framedHandler: service.framedHandler)
    }
}
