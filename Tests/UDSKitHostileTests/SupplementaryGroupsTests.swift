import Foundation
import SystemPackage
import Testing
import UDSKit
import UDSKitTestSupport

extension HostileClientTests {
    /// Group rules and supplementary groups, for real: a group made for the test (`groupadd`), and `uds send` run as
    /// nobody (uid 65534, primary group 65534) with that group as a supplementary one through `setpriv --groups`.
    @Suite("Supplementary groups")
    struct SupplementaryGroups {
        static let nobody: UInt32 = 65534
        static let nogroup: UInt32 = 65534

        /// Runs `body` with the name and ID of a new system group, removed afterwards.
        static func withTemporaryGroup(_ body: (String, UInt32) async throws -> Void) async throws {
            guard getuid() == 0 else {
                throw TestFailure("these tests add a group and switch users, and must run as root")
            }
            let name = "udst" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
            let added = try await ChildProcess.run(
                findExecutable("groupadd") ?? "/usr/sbin/groupadd", ["--system", name])
            guard added.status == 0, let entry = getgrnam(name) else {
                throw TestFailure("groupadd \(name) failed: \(added.stderr)")
            }
            let gid = UInt32(entry.pointee.gr_gid)
            do {
                try await body(name, gid)
            } catch {
                _ = try? await ChildProcess.run(findExecutable("groupdel") ?? "/usr/sbin/groupdel", [name])
                throw error
            }
            _ = try await ChildProcess.run(findExecutable("groupdel") ?? "/usr/sbin/groupdel", [name])
        }

        /// Runs `uds send arguments…` as nobody, with primary group `primary` and the supplementary `groups`.
        static func sendAsNobody(primary: UInt32 = nogroup, groups: [UInt32], _ arguments: [String]) async throws
            -> (status: Int32, stdout: String, stderr: String)
        {
            let setpriv = try requireExecutable("setpriv")
            let groupOption =
                groups.isEmpty ? "--clear-groups" : "--groups=" + groups.map(String.init).joined(separator: ",")
            return try await ChildProcess.run(
                setpriv, ["--reuid=\(nobody)", "--regid=\(primary)", groupOption, udsExecutable, "send"] + arguments)
        }

        @Test func aSupplementaryMemberIsAdmittedByAGroupIDRuleAndANonMemberIsRefused() async throws {
            try await Self.withTemporaryGroup { _, gid in
                try await HostileClientTests.OtherUsers.withSharedDirectory { dir in
                    let path = dir + "/open.sock"
                    try await withServe(path, ["--quiet", "--mode", "0666", "--allow-gid", "\(gid)"]) { server in
                        let member = try await Self.sendAsNobody(groups: [gid], [path, "hello"])
                        #expect(member.status == 0, "\(member)")
                        #expect(member.stdout == "5\n")
                        let outsider = try await Self.sendAsNobody(groups: [], [path, "hello"])
                        #expect(outsider.status == 4, "\(outsider)")
                        #expect(outsider.stderr.contains("authorization policy does not admit"), "\(outsider.stderr)")
                        #expect(
                            try await eventually { server.stderr.contains("peer_gid=\(Self.nogroup)") },
                            "\(server.stderr)")
                        #expect(lines(of: server.stderr, containing: "refused a peer").count == 1, "\(server.stderr)")
                    }
                }
            }
        }

        @Test func allowGroupByNameAndTheFilesGroupAdmitASupplementaryMember() async throws {
            try await Self.withTemporaryGroup { name, gid in
                try await HostileClientTests.OtherUsers.withSharedDirectory { dir in
                    let path = dir + "/group.sock"
                    try await withServe(path, ["--quiet", "--mode", "0660", "--group", name, "--allow-group", name]) {
                        server in
                        let file = try HostileClientTests.OtherUsers.ownership(path)
                        #expect(file.group == gid)
                        #expect(file.mode == 0o660)
                        let member = try await Self.sendAsNobody(groups: [1, gid], [path, "hello"])
                        #expect(member.status == 0, "\(member)")
                        #expect(member.stdout == "5\n")
                        // Not in the group: the file's mode stops it at connect, before the policy.
                        let outsider = try await Self.sendAsNobody(groups: [1], [path, "hello"])
                        #expect(outsider.status == 4, "\(outsider)")
                        #expect(outsider.stderr.contains("permission denied"), "\(outsider.stderr)")
                        #expect(!server.stderr.contains("refused"), "\(server.stderr)")
                    }
                }
            }
        }

        @Test func allowUserTakesAName() async throws {
            try await HostileClientTests.OtherUsers.withSharedDirectory { dir in
                let path = dir + "/user.sock"
                guard let entry = getpwuid(Self.nobody) else { throw TestFailure("no user with uid \(Self.nobody)") }
                let name = String(cString: entry.pointee.pw_name)
                try await withServe(path, ["--quiet", "--mode", "0666", "--allow-user", name]) { server in
                    let sent = try await Self.sendAsNobody(groups: [], [path, "hello"])
                    #expect(sent.status == 0, "\(sent)")
                    #expect(!server.stderr.contains("refused"), "\(server.stderr)")
                }
            }
        }

        /// `SCM_CREDENTIALS` carries one group ID: for datagrams a group rule matches the sender's primary group only.
        @Test func forDatagramsAGroupRuleMatchesThePrimaryGroupOnly() async throws {
            try await Self.withTemporaryGroup { _, gid in
                try await HostileClientTests.OtherUsers.withSharedDirectory { dir in
                    let path = dir + "/d.sock"
                    let socket = try DatagramSocket.bind(
                        to: UnixSocketAddress(path), permissions: [.ownerReadWrite, .groupReadWrite, .otherReadWrite],
                        authorization: AuthorizationPolicy.sameUser.allowing(groupIDs: [gid]))
                    defer { socket.close() }
                    try socket.setReadTimeout(.seconds(30))
                    let supplementary = try await Self.sendAsNobody(
                        groups: [gid], ["--datagram", "--no-reply", path, "supplementary"])
                    #expect(supplementary.status == 0, "the kernel takes it: \(supplementary)")
                    let primary = try await Self.sendAsNobody(
                        primary: gid, groups: [], ["--datagram", "--no-reply", path, "primary"])
                    #expect(primary.status == 0, "\(primary)")
                    try await DatagramSocket.unbound().send("from root", to: UnixSocketAddress(path))
                    let first = try await socket.receive()
                    #expect(first.message.string == "primary")
                    #expect(first.senderCredentials?.groupID == gid)
                    #expect(first.senderCredentials?.supplementaryGroupIDs == nil)
                    #expect(try await socket.receive().message.string == "from root")
                    #expect(socket.refusedCount == 1, "the supplementary member's datagram is dropped")
                }
            }
        }

        @Test func aLibraryPolicyReadsTheGroupsOnlyWhenItHasAGroupRule() async throws {
            try await Self.withTemporaryGroup { _, gid in
                try await HostileClientTests.OtherUsers.withSharedDirectory { dir in
                    let path = dir + "/lib.sock"
                    var configuration = MessageServer.Configuration()
                    configuration.socketPermissions = [.ownerReadWrite, .groupReadWrite, .otherReadWrite]
                    let seen = Locked<[PeerCredentials]>([])
                    configuration.authorization = AuthorizationPolicy.sameUser.allowing { peer in
                        seen.withLock { $0.append(peer) }
                        return peer.isMember(of: gid)
                    }
                    try await withRunningServer(at: path, configuration: configuration, handler: .acknowledge) {
                        server in
                        let member = try await Self.sendAsNobody(groups: [gid, 1], [path, "hello"])
                        #expect(member.status == 0, "\(member)")
                        let peer = try #require(seen.withLock { $0.first })
                        #expect(peer.userID == Self.nobody)
                        #expect(Set(peer.supplementaryGroupIDs ?? []) == [gid, 1])
                        #expect(server.refusedConnectionCount == 0)
                    }
                }
            }
        }
    }
}
