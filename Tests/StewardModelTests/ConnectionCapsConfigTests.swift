import Foundation
import StewardModel
import Testing

/// `ServiceSettings.ReservedAdminConnections`: a value that would leave no place for anyone else
/// is refused at validation, and the default (unset) is an eighth of `MaxConnections`, at least 1,
/// at most 32.
@Suite struct ConnectionCapsConfigTests {
    func config(max: Int, reserved: Int?) -> StewardConfig {
        var c = StewardConfig.development(dataDir: "/tmp/steward-caps")
        c.serviceSettings.maxConnections = max
        c.serviceSettings.reservedAdminConnections = reserved
        return c
    }

    func validationError(_ c: StewardConfig) -> ConfigValidationError? {
        do {
            try c.validate()
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [(10, 10), (10, 11), (1, 1), (512, 10_000), (10, -1)])
    func reserveOfAllPlacesOrMoreIsRefused(max: Int, reserved: Int) {
        let error = validationError(config(max: max, reserved: reserved))
        #expect(error?.setting == "ServiceSettings.ReservedAdminConnections", "\(String(describing: error))")
    }

    @Test(arguments: [(10, 9), (10, 0), (2, 1), (512, 500)])
    func reserveBelowTheTotalIsAccepted(max: Int, reserved: Int) {
        let c = config(max: max, reserved: reserved)
        #expect(validationError(c) == nil)
        #expect(c.serviceSettings.reservedAdmin == reserved)
    }

    @Test(arguments: [
        (512, 32), (4096, 32), (264, 32), (256, 32), (255, 31), (100, 12), (16, 2), (9, 1), (8, 1), (7, 1), (2, 1),
    ])
    func unsetReserveIsAnEighthWithinOneAndThirtyTwo(max: Int, expected: Int) {
        let c = config(max: max, reserved: nil)
        #expect(c.serviceSettings.reservedAdmin == expected)
        #expect(validationError(c) == nil)
    }

    @Test func singlePlaceReservesNothingByDefault() {
        // With one place only, keeping it for administrators would lock everyone else out.
        let c = config(max: 1, reserved: nil)
        #expect(c.serviceSettings.reservedAdmin == 0)
        #expect(validationError(c) == nil)
    }

    @Test func decodedFromTheDocument() throws {
        let json = #"{"ServiceSettings":{"MaxConnections":20,"ReservedAdminConnections":3}}"#
        let c = try JSONDecoder().decode(StewardConfig.self, from: Data(json.utf8))
        #expect(c.serviceSettings.reservedAdminConnections == 3)
        #expect(c.serviceSettings.reservedAdmin == 3)
        let unset = try JSONDecoder().decode(StewardConfig.self, from: Data(#"{"ServiceSettings":{"MaxConnections":20}}"#.utf8))
        #expect(unset.serviceSettings.reservedAdminConnections == nil)
        #expect(unset.serviceSettings.reservedAdmin == 2)
    }

    @Test func decodedReserveOfTheWholeTotalFailsValidation() throws {
        let json = #"{"ServiceSettings":{"MaxConnections":20,"ReservedAdminConnections":20}}"#
        let c = try JSONDecoder().decode(StewardConfig.self, from: Data(json.utf8))
        #expect(validationError(c)?.setting == "ServiceSettings.ReservedAdminConnections")
    }

    @Test func negativeListenerCapsAreRefused() {
        var c = config(max: 10, reserved: nil)
        c.serviceSettings.listeners[0].maxConnectionsPerUid = -1
        #expect(validationError(c)?.setting == "ServiceSettings.Listeners[0].MaxConnectionsPerUid")
    }
}
