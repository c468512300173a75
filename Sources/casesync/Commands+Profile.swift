import ArgumentParser
import CaseSyncCore
import Foundation

struct Profile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Your name, postal address, e-mail and phone as your letters show them under your signature.",
        discussion: """
            Kept on this device only. Without options, prints what your letters use. Give the address once, line by line:
              casesync profile --address "Oudegracht 12" --address "3511 AR Utrecht" --email anna@example.nl
            An empty value leaves the e-mail or phone out; an empty --name goes back to your account's name.
            """)
    @OptionGroup var home: HomeOptions
    @Option(help: "The name you sign with (default: your account's name).") var name: String?
    @Option(help: "One line of your postal address; repeat it for each line (2 to 5 lines, replacing the address held).")
    var address: [String] = []
    @Option(help: "Your e-mail address (\"\" to leave it out).") var email: String?
    @Option(help: "Your phone number (\"\" to leave it out).") var phone: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reporting {
            let client = try home.client()
            let changing = name != nil || !address.isEmpty || email != nil || phone != nil
            let profile = changing
                ? try client.updateSenderProfile(name: name, postalAddress: address.isEmpty ? nil : address, email: email, phone: phone)
                : try client.senderProfile()
            if json { return try printJSON(profile) }
            print(changing ? "Your letters are now signed:" : "Your letters are signed:")
            print(profile.block(dutch: false).map { "  " + $0 }.joined(separator: "\n"))
            if profile.postalAddress.isEmpty {
                print("Your postal address is not set; a letter needs it. Set it with: casesync profile --address \"Street 1\" --address \"1234 AB City\"")
            }
        }
    }
}
