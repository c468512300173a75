import CaseSyncProtocol
@testable import CaseSyncServer
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The limits per address behind a load balancer: `X-Forwarded-For` is believed from the trusted
/// proxies only, and only as far as they wrote it.
@Suite("Client addresses behind trusted proxies")
struct ClientAddressTests {
    @Test func proxiesAreAddressesOrRanges() throws {
        let trusted = try TrustedProxies(["10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"])
        #expect(trusted.contains("10.200.3.4") && trusted.contains("192.168.1.7") && trusted.contains("::1"))
        #expect(trusted.contains("fd12:3456::1") && trusted.contains("::ffff:10.1.2.3"))
        #expect(!trusted.contains("11.0.0.1") && !trusted.contains("192.168.1.8") && !trusted.contains("fe80::1"))
        #expect(!trusted.contains("not an address") && !trusted.contains(""))
        #expect(try TrustedProxies(["172.16.0.0/12"]).contains("172.31.255.255"))
        #expect(try !TrustedProxies(["172.16.0.0/12"]).contains("172.32.0.0"))
        #expect(try TrustedProxies(["0.0.0.0/0"]).contains("203.0.113.9"))
        for bad in ["", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "::/129", "proxy.example", "10.0.0.1 ", "１０.0.0.1"] {
            #expect(throws: TrustedProxyError.self, "\(bad)") { try TrustedProxies([bad]) }
        }
    }

    @Test func theClientIsTheLastAddressNoTrustedProxyWrote() throws {
        let trusted = try TrustedProxies(["10.0.0.0/8"])
        // Not a proxy: the header is the client's own words and ignored.
        #expect(trusted.clientAddress(peer: "203.0.113.1", forwardedFor: ["198.51.100.2"]) == "203.0.113.1")
        #expect(trusted.clientAddress(peer: "10.0.0.1", forwardedFor: []) == "10.0.0.1")
        #expect(trusted.clientAddress(peer: "10.0.0.1", forwardedFor: ["203.0.113.1"]) == "203.0.113.1")
        // What the client wrote to the left of the proxies' entries is never reached.
        #expect(trusted.clientAddress(peer: "10.0.0.1", forwardedFor: ["1.2.3.4, 203.0.113.1 , 10.0.0.2"]) == "203.0.113.1")
        #expect(trusted.clientAddress(peer: "10.0.0.1", forwardedFor: ["1.2.3.4", "203.0.113.1,10.9.9.9"]) == "203.0.113.1")
        // One spelling per address.
        #expect(trusted.clientAddress(peer: "10.0.0.1", forwardedFor: ["2001:DB8:0:0::1"]) == "2001:db8::1")
        #expect(trusted.clientAddress(peer: "10.0.0.1", forwardedFor: ["::ffff:203.0.113.1"]) == "203.0.113.1")
        // Hops written with their ports.
        #expect(trusted.clientAddress(peer: "10.0.0.1", forwardedFor: ["203.0.113.1:4711"]) == "203.0.113.1")
        #expect(trusted.clientAddress(peer: "10.0.0.1", forwardedFor: ["[2001:db8::1]:4711, 10.0.0.2:80"]) == "2001:db8::1")
        // A header with no address where one is needed counts against the proxy.
        #expect(trusted.clientAddress(peer: "10.0.0.1", forwardedFor: ["203.0.113.1, unknown"]) == "10.0.0.1")
        #expect(trusted.clientAddress(peer: "10.0.0.1", forwardedFor: ["10.0.0.3"]) == "10.0.0.1")
        #expect(trusted.clientAddress(peer: "10.0.0.1", forwardedFor: [""]) == "10.0.0.1")
    }

    /// Login attempts with the wrong code, one after another, each with `X-Forwarded-For: forwarded`;
    /// their statuses (401 for the wrong code, 429 once the address is limited).
    static func attempts(_ url: URL, forwardedFor forwarded: [String]) async throws -> [Int] {
        var statuses: [Int] = []
        for value in forwarded {
            var request = URLRequest(url: url.appendingPathComponent("auth/redeem"))
            request.httpMethod = "POST"
            request.setValue("1", forHTTPHeaderField: ProtocolVersion.headerName)
            request.setValue(value, forHTTPHeaderField: "X-Forwarded-For")
            request.httpBody = Data(#"{"code":"WRONG-CODE-0000"}"#.utf8)
            let (_, response) = try await URLSession.shared.data(for: request)
            statuses.append(try #require(response as? HTTPURLResponse).statusCode)
        }
        return statuses
    }

    @Test func aForgedHeaderEscapesNoLimitAndATrustedProxysCountsEachClient() async throws {
        var limits = ProtocolLimits()
        limits.redeemAttemptsPerMinute = 2
        limits.maxConnectionsPerAddress = 2
        let server = try TestServer(limits: limits)
        // No proxy trusted: a device that names a new address with each attempt is still one address.
        let untrusted = try await server.live { url in
            try await Self.attempts(url, forwardedFor: ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
        }
        #expect(untrusted == [401, 401, 429])
        // Behind a trusted proxy (127.0.0.1 here), each client address has its own allowance, which an
        // address written in front of the proxy's entry does not escape; a header without an address
        // counts against the proxy itself.
        let behindProxy = try await server.live(trustedProxies: try TrustedProxies(["127.0.0.0/8"])) { url in
            let statuses = try await Self.attempts(
                url,
                forwardedFor: [
                    "203.0.113.1", "203.0.113.1", "203.0.113.1", "198.51.100.7, 203.0.113.1", "203.0.113.2",
                    "unknown", "203.0.113.9, x", "unknown",
                ])
            // The proxy holds more connections than one address may: it carries everyone's.
            let held = try (0..<4).map { _ in try RawConnection(port: url.port!) }
            try await Task.sleep(for: .milliseconds(200))
            var answered = 0
            for connection in held {
                connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if await connection.readToEnd()?.hasPrefix("HTTP/1.1 200") == true { answered += 1 }
            }
            return (statuses, answered)
        }
        #expect(behindProxy.0 == [401, 401, 429, 429, 401, 401, 401, 429])
        #expect(behindProxy.1 == 4)
    }
}
