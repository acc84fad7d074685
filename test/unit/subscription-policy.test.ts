import { describe, expect, it } from '@jest/globals';
import { verifyEndpointsByDefault } from '../../shared/config.js';
import { DEFAULT_POLICY, policyOf } from '../../shared/subscription-policy.js';

describe('policyOf', () => {
  it('when options hold nothing, then every default applies', () => {
    expect(policyOf({ options: {} })).toEqual({ maxInFlight: 100, rateLimit: null, permanentFailureStatuses: [410] });
    expect(policyOf({ options: null })).toEqual(policyOf({ options: {} }));
  });

  it('when options hold valid values, then they win', () => {
    expect(policyOf({ options: { maxInFlight: 3, rateLimit: 0.5, permanentFailureStatuses: [] } })).toEqual({
      maxInFlight: 3,
      rateLimit: 0.5,
      permanentFailureStatuses: [],
    });
  });

  it('when options hold values out of bounds or of the wrong type, then the defaults apply field by field', () => {
    expect(
      policyOf({ options: { maxInFlight: 0, rateLimit: '5', permanentFailureStatuses: [410, 200], other: 1 } }),
    ).toEqual({ maxInFlight: 100, rateLimit: null, permanentFailureStatuses: [410] });
    expect(policyOf({ options: { maxInFlight: 1000.5, rateLimit: 0 } }).maxInFlight).toBe(100);
  });

  it('when the returned list is changed, then the defaults and the stored options are not', () => {
    const options = { permanentFailureStatuses: [404] };
    policyOf({ options }).permanentFailureStatuses.push(500);
    policyOf({ options: {} }).permanentFailureStatuses.push(500);
    expect(options.permanentFailureStatuses).toEqual([404]);
    expect(DEFAULT_POLICY.permanentFailureStatuses).toEqual([410]);
  });
});

describe('verifyEndpointsByDefault', () => {
  it('when HOOKLINE_VERIFY_ENDPOINTS is unset, then it is on in production and off elsewhere', () => {
    expect(verifyEndpointsByDefault({ HOOKLINE_ENV: 'production', HOOKLINE_VERIFY_ENDPOINTS: undefined })).toBe(true);
    expect(verifyEndpointsByDefault({ HOOKLINE_ENV: 'development', HOOKLINE_VERIFY_ENDPOINTS: undefined })).toBe(false);
    expect(verifyEndpointsByDefault({ HOOKLINE_ENV: 'test', HOOKLINE_VERIFY_ENDPOINTS: undefined })).toBe(false);
  });

  it('when HOOKLINE_VERIFY_ENDPOINTS is set, then it decides in every mode', () => {
    expect(verifyEndpointsByDefault({ HOOKLINE_ENV: 'production', HOOKLINE_VERIFY_ENDPOINTS: 'off' })).toBe(false);
    expect(verifyEndpointsByDefault({ HOOKLINE_ENV: 'development', HOOKLINE_VERIFY_ENDPOINTS: 'on' })).toBe(true);
  });
});
