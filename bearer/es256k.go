package bearer

import "github.com/taskapi/taskapi/bearer/internal/es256k"

// SigningMethodES256K is ES256K (RFC 8812 §3.2: ECDSA on secp256k1 with
// SHA-256) as a golang-jwt v5 SigningMethod, which golang-jwt does not
// have: Verify takes a *secp256k1.PublicKey, Sign a *secp256k1.PrivateKey
// of github.com/decred/dcrd/dcrec/secp256k1/v4. Importing this package
// registers it with golang-jwt under "ES256K", unless another
// implementation was registered first.
var SigningMethodES256K = es256k.Method

func init() { es256k.Register() }
