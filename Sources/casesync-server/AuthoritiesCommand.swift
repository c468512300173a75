import ArgumentParser
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerApp
import Foundation
import Logging

/// The operator's register of the authorities this server serves.
struct Authorities: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep the register of the authorities this server serves.",
        discussion: "Objections can only be filed with, and officers only invited for, a registered authority. Ids are the government's organisation codes (CBS municipality codes such as gm0344).",
        subcommands: [List.self, Add.self, Import.self, Remove.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the register.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "Only authorities whose id or name contains this.") var search: String?
        @Flag(help: "Print the register as CSV (the import form).") var csv = false
        @Flag(help: "Print the register as JSON.") var json = false

        func run() async throws {
            let register = try await storage.withStore { try await $0.authorityRegister() }
            let shown = AuthoritySearch(register.authorities).search(search ?? "")
            if csv {
                print(AuthorityCSV.write(shown), terminator: "")
            } else if json {
                print(String(decoding: try WireCoding.encoder().encode(AuthorityRegister(version: register.version, authorities: shown)), as: UTF8.self))
            } else if shown.isEmpty {
                print(register.authorities.isEmpty
                    ? "the register is empty; add authorities with: casesync-server authorities import authorities/starter.csv"
                    : "no authority matches \(search ?? "")")
            } else {
                for authority in shown {
                    print("\(authority.id.padding(toLength: 8, withPad: " ", startingAt: 0)) \(authority.name) — \(authority.postalAddress.joined(separator: ", "))")
                }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an authority, or change the one with this id.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "Its organisation code, e.g. gm0344.") var id: String
        @Option(help: "Its official name, e.g. \"Gemeente Utrecht\".") var name: String
        @Option(help: "The postal address for objections, e.g. \"Postbus 16200\".") var address: String
        @Option(help: "Postcode, e.g. \"3500 CE\".") var postcode: String
        @Option(help: "City, e.g. Utrecht.") var city: String
        @Option(help: "For municipal taxes, the official who decides objections.") var taxOfficial: String?

        func run() async throws {
            let authority = Authority(
                id: id, name: name, postalAddress: [address, "\(postcode) \(city)"], taxOfficial: taxOfficial)
            try await storage.withStore { try await $0.addAuthorities([authority], replacingAll: false) }
            print("\(authority.id): \(authority.name) is in the register")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add the authorities of a CSV file (id,name,postal_address,postcode,city,tax_official).")
        @OptionGroup var storage: StorageOptions
        @Argument(help: "The CSV file.") var file: String
        @Flag(help: "Make the register exactly the file's (authorities not in it leave; their cases are flagged).")
        var replace = false
        @Flag(help: "Only when the register is empty (a first start).") var ifEmpty = false

        func run() async throws {
            let authorities = try await Self.read(file)
            let (ifEmpty, replace) = (ifEmpty, replace)
            let imported = try await storage.withStore { store in
                if ifEmpty, try await !store.authorityRegister().authorities.isEmpty { return false }
                try await store.addAuthorities(authorities, replacingAll: replace)
                return true
            }
            guard imported else { return print("the register holds authorities already; nothing imported") }
            print("imported \(authorities.count) authorit\(authorities.count == 1 ? "y" : "ies") from \(file)")
        }

        static func read(_ file: String) async throws -> [Authority] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("cannot read \(file); check its path (it must be UTF-8 text)")
            }
            return try await exitOnServiceError { try AuthorityCSV.parse(text) }
        }

        /// `serve --seed-authorities FILE`: the file's authorities when the register is empty.
        static func seed(from file: String, storage: StorageOptions, logger: Logger) async throws {
            let authorities = try await read(file)
            let seeded = try await storage.withStore { store in
                guard try await store.authorityRegister().authorities.isEmpty else { return false }
                try await store.addAuthorities(authorities, replacingAll: false)
                return true
            }
            guard seeded else { return }
            logger.notice("register seeded with \(authorities.count) authorities from \(file)")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take an authority out of the register (its cases stay, flagged on devices).")
        @OptionGroup var storage: StorageOptions
        @Argument(help: "Its id.") var id: String

        func run() async throws {
            let id = id
            try await storage.withStore { try await $0.removeAuthority(id: id) }
            print("\(id) is no longer in the register")
        }
    }
}
