import SwitchboardAddons
import SwitchboardCore

/// Every target's schema steps in the order they shipped. Each target owns its tables and their
/// migrations; the order is history across targets, so it is kept where both sides are known.
package enum DaemonSchema {
    package static let migrations = [
        CoreSchema.v1Core,
        AddonSchema.v2Addons,
        AddonSchema.v3LedgerCheckpointsErasure,
        CoreSchema.v4CallbackEvents,
        AddonSchema.v5ConsentTermsRecipients,
        CoreSchema.v6ErasedAccountsStayErased,
        CoreSchema.v7CallbackReceiversSecretRotation,
        CoreSchema.v8SignInSessions,
        CoreSchema.v9CarrierSubmitIntent,
        CoreSchema.v10CarrierSubmissions,
        CoreSchema.v11SMPPServer,
        CoreSchema.v12InboundWebhooks,
        CoreSchema.v13SMPPPartials,
        CoreSchema.v14AccountInboundWebhook,
        AddonSchema.v15SettledErasuresForgetTheNumber,
        AddonSchema.v16EventLogWithCursors,
        CoreSchema.v17ConsoleSignIn,
        CoreSchema.v18ErasureAwaitingHold,
        CoreSchema.v19ErasedAccountsKeepNoSignInTime,
        CoreSchema.v20SMPPDeliveryRefusals,
        CoreSchema.v21SMPPPartsAsUserData,
        CoreSchema.v22SMPPPartsClaimed,
        CoreSchema.v23SMPPPartsEchoed,
    ]
}
