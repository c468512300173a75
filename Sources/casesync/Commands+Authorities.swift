import ArgumentParser
import CaseSyncCore
import CaseSyncProtocol

/// The authorities objections can be filed with: the server's register, as this device last fetched it.
struct Authorities: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the authorities you can file objections with (works offline, from the last sync).",
        discussion: "A sync fetches the register when the copy held is an hour old; --refresh fetches it now.")
    @OptionGroup var home: HomeOptions
    @Option(help: "Only those whose id or name contains this, e.g. utrecht.") var search: String?
    @Flag(help: "Fetch the register from the server first (needs the network).") var refresh = false
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reporting {
            let client = try home.client()
            if refresh { try await client.refreshAuthorities(transport: try transport(for: client)) }
            guard try client.authorityRegister() != nil else {
                throw CLIError("this device has no register of authorities yet; run: casesync sync")
            }
            let found = try client.authorities(search: search)
            if json { return try printJSON(found) }
            guard !found.isEmpty else {
                print("no authority matches \(search ?? ""); see them all with: casesync authorities")
                return
            }
            for authority in found {
                print("\(authority.id.padding(toLength: 8, withPad: " ", startingAt: 0)) \(authority.name) — \(authority.postalAddress.joined(separator: ", "))")
            }
        }
    }
}
