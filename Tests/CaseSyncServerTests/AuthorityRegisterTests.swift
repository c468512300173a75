import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncTesting
import CaseSyncServerSQLite
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// No objection filed into the void: the register of authorities on the server, on the device
/// (offline), at filing and at inviting officers.
@Suite("The register of authorities")
struct AuthorityRegisterTests {
    static let version: HTTPFields = [HTTPField.Name(ProtocolVersion.headerName)!: "1"]

    @Test(arguments: StoreBackend.underTest) func theRegisterIsPublicAndCacheable(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await Application(router: server.router).test(.router) { client in
            let tag = try await client.execute(uri: "/authorities", method: .get, headers: Self.version) { response -> String in
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "public, max-age=300")
                let register = try WireCoding.decode(AuthorityRegister.self, from: Data(buffer: response.body))
                #expect(register.authorities.map(\.id).contains("gm0344"))
                #expect(response.headers[.eTag] == "\"\(register.version)\"")
                return try #require(response.headers[.eTag])
            }
            var conditional = Self.version
            conditional[.ifNoneMatch] = tag
            try await client.execute(uri: "/authorities", method: .get, headers: conditional) { response in
                #expect(response.status == .notModified)
                #expect(response.body.readableBytes == 0)
            }
        }
        // Another version once the register changes.
        let before = try await server.store.authorityRegister().version
        try await server.store.addAuthorities([
            Authority(id: "gm0014", name: "Gemeente Groningen", postalAddress: ["Postbus 30026", "9700 RM Groningen"]),
        ])
        #expect(try await server.store.authorityRegister().version != before)
    }

    @Test(arguments: StoreBackend.underTest) func aMisspelledAuthorityIsRefusedOfflineWithTheClosestName(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.client(.citizen, name: "Anna", transport: server.transport)
        #expect(try anna.authorities(search: "utrecht").map(\.id) == ["gm0344"])
        // Offline from here: nothing below talks to the server.
        #expect {
            try anna.createObjection(authorityId: "gemeente-utrech", fields: Self.fields, submit: true)
        } throws: { error in
            (error as? ClientError)?.message.contains("did you mean Gemeente Utrecht (gm0344)?") == true
        }
        #expect(try anna.pendingMutations().isEmpty, "nothing looks filed")
        #expect(throws: ClientError.self) { try anna.createObjection(authorityId: "Gemeente A", fields: Self.fields, submit: true) }
        // A name that is unambiguous files with the register's id.
        let id = try anna.createObjection(authorityId: "Utrecht", fields: Self.fields, submit: true)
        #expect(try anna.detail(caseId: id).local.record.authorityId == "gm0344")
        #expect(try anna.detail(caseId: id).authority?.name == "Gemeente Utrecht")
    }

    @Test(arguments: StoreBackend.underTest) func theServerRefusesAnUnregisteredAuthorityWhateverTheDeviceSays(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.device(.citizen, name: "Anna")
            let answer = try await http.push(
                PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: testId("a", by: anna.clientId), authority: "gm0343")]),
                token: anna.token)
            #expect(answer.outcomes.first?.code == .unknownAuthority)
            #expect(answer.outcomes.first?.message?.contains("Gemeente Utrecht (gm0344)") == true)
            #expect(try await http.pullPage(cursor: nil, limit: nil, token: anna.token).changes.isEmpty)
        }
    }

    @Test(arguments: StoreBackend.underTest) func officersOnlyForARegisteredAuthority(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        await #expect {
            try await server.store.invite(role: .officer, authorityId: "gemeente-utrech", displayName: "Olga", validFor: 7)
        } throws: { error in
            (error as? ServiceError)?.code == .unknownAuthority
                && (error as? ServiceError)?.message.contains("Gemeente Utrecht (gm0344)") == true
        }
        _ = try await server.store.invite(role: .officer, authorityId: "gm0344", displayName: "Olga", validFor: 7)
    }

    @Test(arguments: StoreBackend.underTest) func aCaseWhoseAuthorityLeavesTheRegisterIsFlagged(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.client(.citizen, name: "Anna", transport: server.transport)
        let id = try anna.createObjection(authorityId: "gm0193", fields: Self.fields, submit: true)
        try await anna.sync(transport: server.transport)
        #expect(try anna.detail(caseId: id).authorityUnregistered == false)
        try await server.store.removeAuthority(id: "gm0193")
        try await anna.refreshAuthorities(transport: server.transport)
        let detail = try anna.detail(caseId: id)
        #expect(detail.authorityUnregistered && detail.authority == nil)
        #expect(detail.local.record.authorityId == "gm0193", "the case stays as it was")
    }

    @Test func theImportFileIsReadStrictlyAndNamesTheLineOfAProblem() throws {
        #expect(starterAuthorities.count == 6)
        let written = AuthorityCSV.write(starterAuthorities)
        #expect(try AuthorityCSV.parse(written) == starterAuthorities)
        let quoted = "id,name,postal_address,postcode,city,tax_official\ngm0001,\"Gemeente A, \"\"de\"\" stad\",Postbus 1,1000 AA,A,\n"
        #expect(try AuthorityCSV.parse(quoted).first?.name == "Gemeente A, \"de\" stad")
        for (text, needle) in [
            ("name,id\n", "header"),
            ("id,name,postal_address,postcode,city,tax_official\ngm0001,A,P,1,C,\nGM 2,B,P,1,C,\n", "line 3"),
            ("id,name,postal_address,postcode,city,tax_official\ngm0001,A,P,1,C\n", "line 2 has 5 fields"),
            ("id,name,postal_address,postcode,city,tax_official\ngm0001,A,P,1,C,\ngm0001,B,P,1,C,\n", "twice"),
            ("id,name,postal_address,postcode,city,tax_official\ngm0001,\"A,P,1,C,\n", "never closed"),
        ] {
            #expect(Self.refusal(text)?.contains(needle) == true, "\(Self.refusal(text) ?? "accepted")")
        }
    }

    /// Why the import refuses `text` (nil when it accepts it).
    static func refusal(_ text: String) -> String? {
        do {
            _ = try AuthorityCSV.parse(text)
            return nil
        } catch {
            return (error as? ServiceError)?.message ?? "\(error)"
        }
    }

    static let fields: [CaseField: String] = [
        .title: "Parking fine", .grounds: "My permit was valid", .decisionReference: "PT-1", .decisionDate: "2026-03-02",
    ]
}
