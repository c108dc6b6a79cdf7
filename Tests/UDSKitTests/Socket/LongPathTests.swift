import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

@Suite("Paths longer than sun_path, through their directory")
struct LongPathTests {
    @Test func aThreeHundredBytePathWorksForServerAndClient() async throws {
        try await withTemporaryDirectory { dir in
            var directory = dir
            while directory.utf8.count < 280 { directory += "/" + String(repeating: "d", count: 40) }
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let path = directory + "/server.sock"
            #expect(path.utf8.count > 290)
            try await withRunningServer(at: path, handler: .acknowledge) { _ in
                var isDirectory: ObjCBool = false
                #expect(
                    FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue)
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                #expect((attributes[.posixPermissions] as? Int) == 0o600)
                #expect(try await MessageClient(path: path).deliver("long way") == 8)
                // a second server on the same long path is refused, as on a short one
                let second = MessageServer(address: try UnixSocketAddress(path), handler: .acknowledge)
                let error = try await #require(throws: UnixSocketError.self) { try await second.start() }
                #expect(error.code == .serverAlreadyListening)
            }
            #expect(!FileManager.default.fileExists(atPath: path), "the socket file is removed at shutdown")
        }
    }

    @Test func seqPacketAndDatagramSocketsTakeLongPathsToo() async throws {
        try await withTemporaryDirectory { dir in
            var directory = dir
            while directory.utf8.count < 280 { directory += "/" + String(repeating: "p", count: 40) }
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let packets = directory + "/packets.sock"
            try await withRunningServer(at: packets, configuration: .seqPacket, framedHandler: .echo) { _ in
                let connection = try SeqPacketConnection.connect(to: UnixSocketAddress(packets))
                #expect(try await connection.request("long packet").string == "long packet")
            }
            let datagrams = directory + "/datagrams.sock"
            let receiver = try DatagramSocket.bind(to: UnixSocketAddress(datagrams))
            try receiver.setReadTimeout(.seconds(30))
            try await DatagramSocket.unbound().send("long datagram", to: UnixSocketAddress(datagrams))
            #expect(try await receiver.receive().message.string == "long datagram")
            receiver.close()
            #expect(!FileManager.default.fileExists(atPath: datagrams), "close removes the long-path file")
        }
    }

    @Test func aLongPathWhoseNameIsTooLongNamesTheLimits() throws {
        let path = "/tmp/" + String(repeating: "n", count: 120) + ".sock"
        let error = try #require(throws: UnixSocketError.self) { try UnixSocketAddress(path) }
        #expect(error.code == .pathTooLong)
        #expect(error.description.contains("\(path.utf8.count) bytes"))
        #expect(error.description.contains("\(UnixSocketAddress.maximumPathLength)"))
    }

    @Test func aLongPathInAMissingDirectoryIsNoSocketFile() async throws {
        let path = "/tmp/uds-missing-" + String(repeating: "m", count: 100) + "/x.sock"
        let error = try await #require(throws: UnixSocketError.self) {
            try await MessageClient(path: path).deliver("x")
        }
        #expect(error.code == .noSocketFile)
    }
}
