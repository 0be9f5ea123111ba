// Package match compares the data an upstream holds about a person (its KYC
// data: legal name, address, phone, email) with the account owners an
// institution reports (MX's account owner records), and says, per owner and
// per field, how well they agree: a score from 0 to 100, and a verdict.
//
// The package is a leaf: it imports nothing from the fleet. The job layer
// maps both sides into [Person]: the upstream's data as given, and each MX
// account owner as
//
//	Person{
//		Name:    o.OwnerName, // or o.FirstName + " " + o.LastName when empty
//		Address: Address{Street: o.Address, City: o.City, State: o.State, PostalCode: o.PostalCode, Country: o.Country},
//		Phone:   o.Phone,
//		Email:   o.Email,
//	}
//
// then calls [CompareAll] (or [Compare] for one owner), or the same methods
// of [Thresholds] for other verdict thresholds. Nothing here logs or copies
// an input value into a result (a [Result] holds scores, weights, field
// names and flags only), and only [Thresholds.Validate] returns an error.
//
// # Normalisation
//
// Every value is first cut to [MaxValueBytes] and folded: Unicode NFKD,
// combining marks dropped, lowercased, and ß→ss, æ→ae, œ→oe, ø→o, đ/ð→d,
// ł→l, þ→th, ı→i (so "José Álvarez" reads "jose alvarez", "Straße"
// "strasse"). Words are runs of letters and digits; apostrophes are deleted
// inside a word (O'Neil → oneil), every other character separates words
// (Mary-Ann → mary ann, J. → j).
//
// # Token alignment
//
// Names, street names and cities are compared as lists of tokens. Each token
// is core or optional (a middle name; a street's directional or suffix). The
// pairs of tokens with a similarity above 0 are taken greedily, highest
// similarity first (ties: earlier token of the first list, then of the
// second), each token at most once. Then
//
//	score = 100 × (sum of the pairs' similarities) / D
//	D     = pairs + max(core left over in A, core left over in B)
//	            + Σ over optional kinds min(left over in A, left over in B)
//
// rounded half up. So an unmatched core token on one side costs one unit of
// D (Jane Smith / John Smith: 1 / 2 = 50), two unmatched core tokens facing
// each other cost one together, and an optional token left over on one side
// only costs nothing (a missing middle name, a missing "N" or "St"), while
// two of the same kind left over on both sides cost one (Robert James Smith
// / Robert John Smith: 2 / 3 = 67; Main St / Main Ave: 1 / 2 = 50).
//
// # Names
//
// A name is split into persons at the words "and" and "&" (at most 4); a
// person of one word takes the last person's surname (John and Jane Smith →
// John Smith, Jane Smith). Within a person:
//
//   - "Last, First Middle" is read as First Middle Last (the part before the
//     first comma goes last); comma-separated parts made only of honorifics,
//     suffixes and credentials are set aside first (Smith, Robert, Jr.).
//   - Honorifics (Mr, Mrs, Ms, Miss, Mx, Mister, Madam, Dr, Prof, Rev, Fr, Sir,
//     Dame, Hon, Messrs) are dropped wherever they stand.
//   - Generational suffixes (Jr/Junior, Sr/Senior, II/2nd, III/3rd, IV/4th) and
//     credentials (Esq, MD, PhD, DDS, DVM, CPA, RN) are dropped except as the
//     first word; the generational suffix is kept aside. Different suffixes on
//     the two sides add 1 to D (Robert Smith Jr / Robert Smith Sr: 2 / 3 =
//     67); a suffix on one side only costs nothing (William Gates III / Bill
//     Gates = 95). Credentials written with inner periods (M.D.) read as
//     initials.
//   - Runs of 3, else 2, adjacent words whose concatenation is a word of the
//     other name are joined (Mary Ann / Maryann, Mc Donald / McDonald,
//     O'Neil-Parker / Oneilparker).
//   - The first and last tokens are core, the others middle (optional). Token
//     order otherwise does not matter: Smith Robert = Robert Smith.
//
// Token similarity (first rule that applies): equal 1; an initial against a
// name of the same kind (core or middle) starting with it
// [InitialSimilarity] (0.8; J / James), an initial against anything else 0
// (so a middle initial never stands for a first or last name: Robert J.
// Smith / James Smith 50, Robert J. Smith / Carol Jones 0); otherwise the
// larger of [NicknameSimilarity] (0.9) when the two are related in the
// nickname table, and the Jaro–Winkler similarity (prefix scale 0.1, prefix
// ≤ 4) when both have at least 3 letters, no digit, and it reaches
// [FuzzyFloor] (0.85; Jon / John 0.93), else 0. Jaro–Winkler is not applied
// when one name is the other (of 4 letters or more) plus a, le, lle, ette,
// ine or ina, the usual feminine forms: Robert / Roberta, Daniel / Danielle,
// Paul / Paulette, Joseph / Josephine score 0, not 0.97. Other near
// spellings of different names still pair (Louis / Louise 0.97).
//
// The nickname table is a compact table of common US English given names and
// their usual nicknames (Robert: Bob, Bobby, Rob, Robbie; William: Bill,
// Billy, Will, Willie, Liam; Elizabeth: Liz, Beth, Betty, …; Margaret:
// Peggy, Maggie, Meg, …; Richard: Dick, Rick, …; James: Jim, Jimmy, Jamie;
// Katherine: Kate, Kathy, …; Anthony: Tony; 77 formal names in all). Two
// names are related when one is a formal name and the other one of its
// nicknames, or both are nicknames of one formal name (Bob / Rob); two
// different formal names never are (Albert / Alfred, though both are "Al").
// Names outside the table compare by spelling only.
//
// The name score is the best over the pairs of persons of the two sides.
// Examples: Robert J. Smith / Bob Smith 95 (0.9 + 1 over 2; the middle
// initial is left over on one side); SMITH, ROBERT / Robert Smith 100; José
// Álvarez / Jose Alvarez 100; J Smith / James Smith 90; unrelated names 0.
//
// # Addresses
//
// An address is compared component by component; its score is the weighted
// mean of the components compared, rounded half up, a component counting
// only when both sides give it:
//
//	house_number  WeightHouseNumber    25  equal 100, else 0
//	street        WeightStreet         25  token alignment of the street name
//	unit          WeightUnit           20  equal 100, one side without UnitMissingScore 50, different 0;
//	                                       counts when both give a street line and either a unit
//	city          WeightCity           10  token alignment (St → Saint, Ft → Fort, Mt → Mount, Pt → Point)
//	state         WeightState           5  equal USPS code 100, else 0 (Texas = TX)
//	postal_code   WeightPostalCode     15  equal 100, else 0
//	country       WeightCountry         5  equal 100, else 0 (US = USA = United States)
//
// The street line is Street and Street2 joined. "P.O. Box", "PO Box" and
// "Post Office Box" become one word. The first word, when it has a digit, is
// the house number (leading zeros dropped; a PO box's number stands in for
// it). The unit starts at the first secondary unit designator of USPS
// Publication 28 appendix C2 after at least one street word (Apt, Apartment,
// Unit, Ste, Suite, Bldg, Rm, Fl, Dept, Trlr, Spc, Lot, PH, Hngr, Ofc, Bsmt,
// Lbby; # even first); without one, a last word with a digit after a
// suffix or directional is the unit (Main St 4). The unit's value is its
// words without the designators, leading zeros dropped, spaces removed (Apt
// 4 = #4 = Unit 04 = Ste 4; Apt 4-B = #4B; Ofc, Bsmt, Lbby are their own
// value). Front, Rear, Side, Lower, Upper, Key, Pier, Slip and Stop are
// street words too and are not read as units. The street name's words are
// written as Publication 28's standard abbreviations: suffixes from appendix
// C1 (Street/Str → st, Avenue/Av → ave, Road → rd, Boulevard → blvd, Drive →
// dr, Lane → ln, Court → ct, …: about 100 suffixes in some 330 spellings),
// directionals (North → n, Northeast → ne, …), ordinals First…Tenth →
// 1st…10th, Saint → st. A directional as the first or last word is optional
// (kind directional), a suffix as the last word (or before a last
// directional) optional (kind suffix), the rest core. Street tokens are
// similar when equal; words of 3 letters or more with no digit that are not
// standard suffixes also by Jaro–Winkler ≥ [FuzzyFloor]; city words
// likewise, without the suffix exception.
//
// A postal code of 5 or 9 digits once everything but letters and digits is
// dropped is a US ZIP code and compares by its first 5 digits (12345 =
// 12345-6789 = 123456789); 4 or 8 digits are read as a ZIP code that lost
// its leading zero. Other postal codes compare by their letters and digits.
// A state that is a US state, district or territory name, or two letters,
// compares as its USPS code; anything else by its words.
//
// Examples (street, city, state and ZIP code given): 123 N Main St Apt 4 /
// 123 North Main Street #4 100; a different house number, no units, 69 (55 /
// 80); different units 80; a unit on one side only 90; Main St / Main Ave
// 84.
//
// # Phones
//
// A phone is normalised to E.164 ([NormalizePhone]): everything from the
// first letter (x, ext, extension), ';', ',' or '#' on is an extension and
// dropped; then the digits are kept. A leading + (or 011 or 00) marks an
// international number: +1 needs 10 more digits, any other country code 8 to
// 15 digits in all, not starting with 0. Without it, 10 digits are a US
// number (+1 added) and 11 digits starting with 1 are too. Anything else has
// no usable form and the field is not compared. (555) 123-4567,
// 555.123.4567, +1 555 123 4567, 1-555-123-4567 and 555-123-4567 x89 are all
// +15551234567. The score is 100 when the E.164 forms are equal, else 0.
//
// # Emails
//
// An email is trimmed, stripped of surrounding angle brackets and lowercased
// ([NormalizeEmail]); it is usable when it has a non-empty part before and
// after its last @ and no space. The score is 100 when equal, else 0.
// Provider rules such as Gmail's (dots in the local part ignored, +tags
// dropped) are not applied: they hold for some providers only, a custom
// domain does not say which provider serves it, and applied elsewhere they
// would equate different mailboxes (j.smith and jsmith are two people at
// most employers). A near-miss email scores 0 and the other fields decide.
//
// # Overall score and verdict
//
// The overall score is the weighted mean, rounded half up, of the scores of
// the fields compared (name [WeightName] 40, address [WeightAddress] 30,
// phone [WeightPhone] 15, email [WeightEmail] 15). A field counts only when
// both sides give a usable value; a field that does not is listed in
// Result.NotCompared and its FieldScore says which side lacked it, so a
// missing field neither raises nor lowers the score. Verdicts, for fields
// and overall alike ([VerdictOf]): score ≥ [MatchThreshold] (85) match, ≥
// [PartialThreshold] (50) partial, below no_match. The overall verdict is
// the lower of the overall score's verdict and the name's (when compared): a
// matching address, phone and email do not make a different name a match.
// With no field compared the score is 0 and the verdict no_match.
//
// Other thresholds may be given ([Thresholds]: Match and Partial; the
// methods [Thresholds.Compare] and [Thresholds.CompareAll]); they replace
// 85 and 50 in every verdict above, fields and overall alike, and the
// result shows them. [Thresholds.Validate] accepts 1 ≤ Partial ≤ Match ≤
// 100 (Partial = Match: no partial verdict). Scores and flags do not
// depend on the thresholds.
//
// [CompareAll] picks the best owner: the highest verdict, then the highest
// score, then the most fields compared, then the first.
//
// # Flags
//
// Each result carries four flags ([Flags]) that say why a score is what it
// is, the questions a KYC reviewer asks. Their names and meanings follow
// the flags of Plaid's Identity Match (/identity/match: legal_name's
// is_nickname_match, is_first_name_or_last_name_match and
// is_business_name_detected, address's is_postal_code_match), an anchor
// beyond MX, which reports owners without scoring them (Plaid's docs,
// plaid.com/docs/identity/interpreting-identity-match). Each is false when
// the field it reads was not compared. The name flags read the pair of
// persons that gave the name score (the first of the highest similarity):
//
//   - is_nickname_match: two different tokens related by the nickname
//     table were paired (Robert J. Smith / Bob Smith, Bob / Rob; Jon / John
//     is a spelling, not a nickname). It says how the name was read, not
//     that it matched: Bob Jones / Robert Smith has it too.
//   - is_first_name_or_last_name_match: two equal core tokens (first or
//     last names) were paired, and a core token of either side was paired
//     with nothing: only the first or only the last name agrees, a likely
//     family member (Jane Smith / John Smith, Robert Smith / Roberta Smith,
//     Robert J. Smith / James Smith, Robert Smith / Smith). An initial, a
//     nickname or a near spelling counts as agreeing (J. Smith / James
//     Smith has it not). Never set with a business name, which has no first
//     or last name.
//   - is_business_name_detected: either side's name holds a word that marks
//     a business or a trust: llc, inc, incorporated, corp, corporation,
//     company, ltd, limited, llp, lllp, pllc, plc, lp, gmbh, dba, trust,
//     trustee, ttee, foundation, holdings, partnership, enterprises,
//     association, assn; or a run of 3 or more one-letter words spelling one
//     (L.L.C.). As with Plaid's, false does not mean a person: many
//     businesses' accounts carry none of these words. The scores are not
//     changed by it.
//   - is_postal_code_match: the postal_code component was compared and
//     scored 100 (the same ZIP code's first 5 digits, or the same letters
//     and digits).
package match
