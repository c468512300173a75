import ArgumentParser
import CaseSyncProtocol
import CaseSyncServer
import Foundation

/// The operator's view of an account's devices: list them, shut one out.
struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List an account's devices, or shut one out at once (a lost phone).",
        discussion: "A device shut out gets 401 device_revoked on its next request to any instance; it needs a new login code (casesync-server invite --account ID).",
        subcommands: [List.self, Revoke.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an account's devices.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "The account's id (as invite printed it).") var account: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let account = account
            let devices = try await storage.withStore { try await $0.devices(accountId: account) }
            if json { return print(String(decoding: try WireCoding.encoder().encode(DeviceList(devices: devices)), as: UTF8.self)) }
            if devices.isEmpty { return print("account \(account) has no devices (or no such account exists)") }
            for device in devices {
                let state = device.revokedAt.map { "stopped \($0) (\(device.revokedReason ?? "revoked"))" } ?? "last seen \(device.lastSeenAt)"
                print("\(device.clientId)  \(device.name ?? "(no name)") — since \(device.createdAt), \(state)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Shut a device out at once, on every instance.")
        @OptionGroup var storage: StorageOptions
        @Argument(help: "The device's id (its client id, see: casesync-server devices --account ID).") var clientId: String

        func run() async throws {
            let clientId = clientId
            let device = try await storage.withStore { try await $0.revokeDevice(clientId: clientId, by: nil, reason: .revoked) }
            print("device \(device.clientId) (\(device.name ?? "no name")) is shut out since \(device.revokedAt?.description ?? "now")")
        }
    }
}

/// The operator disables an account (all its devices stop at once, its login codes stop working) or
/// enables it again.
struct Accounts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Disable an account (its devices stop at once) or enable it again.",
        subcommands: [Disable.self, Enable.self])

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable an account: every device of it stops at once, and its login codes stop working.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "The account's id.") var account: String

        func run() async throws {
            let account = account
            let stopped = try await storage.withStore { try await $0.setAccountDisabled(accountId: account, disabled: true) }
            print("account \(account) is disabled; \(stopped) device(s) stopped")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enable a disabled account again; its devices stay stopped: give it a new login code (casesync-server invite --account ID).")
        @OptionGroup var storage: StorageOptions
        @Option(help: "The account's id.") var account: String

        func run() async throws {
            let account = account
            _ = try await storage.withStore { try await $0.setAccountDisabled(accountId: account, disabled: false) }
            print("account \(account) is enabled; log a device in with a new code: casesync-server invite --account \(account)")
        }
    }
}

/// A citizen's right to erasure: the account and its cases go for good.
struct Erase: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Erase a citizen and their cases for good (the right to erasure).",
        discussion: "Officers' devices drop the cases on their next sync; the citizen's devices stop working; the audit trail keeps only that an erasure happened. Back up first if the authority must keep a copy. An officer's account is disabled instead.")
    @OptionGroup var storage: StorageOptions
    @Option(help: "The citizen's account id.") var account: String
    @Flag(help: "Confirm: erasing cannot be undone.") var yes = false

    func validate() throws {
        guard yes else { throw ValidationError("erasing cannot be undone: add --yes to erase account \(account)") }
    }

    func run() async throws {
        let account = account
        let report = try await storage.withStore { try await $0.erase(accountId: account) }
        print("erased account \(account): \(report.cases) case(s), \(report.records) record(s), \(report.devices) device(s)")
    }
}
