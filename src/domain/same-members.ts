/**
 * @module `SameMembers<A, B>`: true when two unions hold the same members. The API schemas in `src/domain/` import
 * only zod, so they spell out enums that live elsewhere (approval statuses, proposal kinds, ...); the route that uses
 * one asserts `const x: SameMembers<TheirUnion, OurUnion> = true`, so the two cannot drift apart silently.
 */
export type SameMembers<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
