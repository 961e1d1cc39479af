/*
 * ComplianceScrub has no public C API: the host reaches it only through the exported
 * switchboard_addon_entry (see switchboard_addon.h). This header exists because SwiftPM's C
 * targets expect an include/ directory for public headers.
 */
#ifndef COMPLIANCE_SCRUB_H
#define COMPLIANCE_SCRUB_H
#endif
