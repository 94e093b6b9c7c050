@critical
Feature: Resend after a reconnect
  A client resends what was not acknowledged when its connection returns; the service stores and
  delivers each message once.

  Scenario: A message resent after a reconnect is stored once
    Given alice and bob are in a new room "resend"
    And alice's connection drops
    When alice sends "are you there?"
    And alice's connection comes back
    Then the room holds "are you there?" exactly once
    And bob received "are you there?" exactly once
