// The French border police's (Direction nationale de la police aux
// frontières, party eu/fr-dnpaf) own record format: JSON with French field
// names and vocabulary, one record type per body kind ("SIGNALEMENT",
// "RENSEIGNEMENT", "DEMANDE_INFORMATION", "REPONSE"), dates of birth as
// JJ/MM/AAAA, and its conversion to and from the exchange envelope. The
// format is documented in schema.json and README.md beside this file; this
// code is the authority.
#ifndef PORTCULLIS_ADAPTERS_FR_DNPAF_FORMAT_H_
#define PORTCULLIS_ADAPTERS_FR_DNPAF_FORMAT_H_

#include "adapters/common/native_format.h"

namespace portcullis::adapters::fr_dnpaf {

// The format, registered as "fr_dnpaf" (NativeFormat: ToEnvelope validates
// a native record, FromEnvelope renders an envelope natively).
const NativeFormat& Format();

}  // namespace portcullis::adapters::fr_dnpaf

#endif  // PORTCULLIS_ADAPTERS_FR_DNPAF_FORMAT_H_
