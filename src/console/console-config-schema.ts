import { Type } from 'typebox';

// The web console at /console (src/console/): static pages that call the API with the signed-in
// person's own bearer token. Without console.oidc it only says how to configure sign-in.
export const ConsoleConfigSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    oidc: Type.Optional(
      Type.Object(
        {
          // One of auth.issuers: the tokens it issues to the console must be ones dab accepts.
          issuer: Type.String({ pattern: '^https?://[^\\s]+$' }),
          // A public client (no secret: the browser cannot keep one) allowed the redirect
          // URI <dab's origin>/console/ and the authorization code flow with PKCE (S256).
          clientId: Type.String({ pattern: '^[\\x21-\\x7e]{1,256}$' }),
          scopes: Type.Array(Type.String({ pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]{1,128}$' }), { minItems: 1, maxItems: 32, uniqueItems: true, default: ['openid'] }),
          // Sent as the audience parameter, for IdPs that issue API access tokens per audience (Auth0, Okta custom servers).
          audience: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, default: {} },
);
