import ArgumentParser
import CaseSyncCore
import CaseSyncProtocol
import Foundation

struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Log this device out: its token stops working on the server, and what it holds here is deleted.")
    @OptionGroup var home: HomeOptions
    @Flag(help: "Log out even though edits made here were never sent (they are lost).") var discardPending = false

    func run() async throws {
        try await reporting {
            let client = try home.client()
            do {
                try await client.logout(transport: try transport(for: client), discardPending: discardPending)
            } catch let error as ClientError where error.code == .unsentEdits {
                throw CLIError("\(error.message). Send them first: casesync sync — or drop them: casesync logout --discard-pending")
            } catch let error as ClientError where error.code == .unreachable || error.code == .unavailable {
                throw CLIError(
                    "\(error.message.components(separatedBy: ";").first ?? error.message); this device stays logged in until the server confirms. Try again when online",
                    exitCode: 3)
            }
            print("Logged out: this device's token no longer works, and its copy of your cases is deleted.")
        }
    }
}

struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List your account's devices, or shut one out (a lost phone).", subcommands: [ListDevices.self, Revoke.self],
        defaultSubcommand: ListDevices.self)

    struct ListDevices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List your account's devices.")
        @OptionGroup var home: HomeOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await reporting {
                let client = try home.client()
                let list = try await client.devices(transport: try transport(for: client))
                if json { return try printJSON(list) }
                for device in list.devices {
                    let name = device.name ?? "(no name)"
                    let state = device.revokedAt.map { "stopped \($0) (\(device.revokedReason ?? "revoked"))" }
                        ?? "last seen \(device.lastSeenAt)"
                    print("\(device.clientId)  \(name)\(device.current ? " (this device)" : "") — \(state)")
                }
                if list.devices.contains(where: { $0.isActive && !$0.current }) {
                    print("Shut one out with: casesync devices revoke <id>")
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Shut one of your devices out at once: its token stops working; edits it never sent are not applied.")
        @OptionGroup var home: HomeOptions
        @Argument(help: "The device's id (see: casesync devices), or its first characters.") var id: String
        @Flag(help: "Shut out this device even though edits made here were never sent (they are lost).") var discardPending = false

        func run() async throws {
            try await reporting {
                let client = try home.client()
                let transport = try transport(for: client)
                let clientId = try client.deviceId(matching: id, in: try await client.devices(transport: transport))
                let device: DeviceInfo
                do {
                    device = try await client.revokeDevice(clientId: clientId, transport: transport, discardPending: discardPending)
                } catch let error as ClientError where error.code == .unsentEdits {
                    throw CLIError("\(error.message). This is this device: send them first (casesync sync), or add --discard-pending")
                }
                if device.current {
                    print("This device was shut out; log in again with a new login code, or delete its data: casesync logout")
                } else {
                    print("Device \(device.clientId) (\(device.name ?? "no name")) is shut out: its token no longer works.")
                }
            }
        }
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Everything the server holds about you, as JSON: your account, devices, cases with their timelines and messages, and the record of what was done.",
        discussion: "Fetched from the server (not this device's copy). The file is readable by you only.")
    @OptionGroup var home: HomeOptions
    @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file")) var output: String?

    func run() async throws {
        try await reporting {
            let client = try home.client()
            let export = try await client.exportAccount(transport: try transport(for: client))
            let encoder = WireCoding.encoder()
            encoder.outputFormatting.insert(.prettyPrinted)
            let data = try encoder.encode(export)
            guard let output else { return print(String(decoding: data, as: UTF8.self)) }
            guard FileManager.default.createFile(atPath: output, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw CLIError("cannot write \(output): check the directory and its permissions")
            }
            let cases = export.records.filter { $0.type == .case }.count
            print("Wrote \(output): your account, \(export.devices.count) device(s), \(cases) case(s) with \(export.records.count) record(s), \(export.activity.count) audit entries.")
        }
    }
}
