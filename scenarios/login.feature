@smoke @readonly
Feature: Log in
  A registered user logs in and sees the rooms of the service.

  Scenario: A registered user logs in
    Given the Agent Chat service is up
    When alice logs in
    Then alice sees the room "general"

  Scenario: A wrong password is rejected
    When alice logs in with a wrong password
    Then the login is rejected
