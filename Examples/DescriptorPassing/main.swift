// Descriptor passing: a client hands the server an open file, and the server writes into it. The server never
// opens the file itself, so it needs no permission on it: the client's open descriptor is the permission.
//
//   swift run descriptor-passing serve /tmp/writer.sock &
//   swift run descriptor-passing send /tmp/writer.sock /tmp/report.txt "hello"   # the server appends to the file
import Foundation
import SystemPackage
import UDSKit

@main
struct DescriptorPassing {
    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch arguments.first {
        case "serve" where arguments.count == 2:
            try await serve(arguments[1])
        case "send" where arguments.count == 4:
            try await send(to: arguments[1], file: arguments[2], line: arguments[3])
        default:
            print("usage: descriptor-passing serve SOCKET | send SOCKET FILE LINE")
            exit(64)
        }
    }

    /// Writes each message, as a line, into the file whose descriptor came with it.
    static func serve(_ path: String) async throws {
        let server = MessageServer(address: try UnixSocketAddress(path)) { message, context in
            guard let file = context.descriptors.first else {
                throw MessageRejection("pass the file to write into with the message")
            }
            let line = Array((message.string + "\n").utf8)
            let written = try line.withUnsafeBytes { try file.descriptor.writeAll($0) }
            return Message("wrote \(written) bytes for pid \(context.peer?.processID ?? -1)\n")
        }  // the descriptor closes when the handler's context goes away
        try await server.run()
    }

    /// Opens FILE for appending and passes it with LINE.
    static func send(to path: String, file: String, line: String) async throws {
        let descriptor = try FileDescriptor.open(
            FilePath(file), .writeOnly, options: [.append, .create], permissions: [.ownerReadWrite])
        defer { try? descriptor.close() }
        let reply = try await MessageClient(path: path).send(OutgoingMessage.bytes(Message(line)).passing([descriptor]))
        print(reply.string, terminator: "")
    }
}
