// SPDX-License-Identifier: MIT
pragma solidity ^0.8.22;

import { ONFT721 } from "@layerzerolabs/onft-evm/contracts/onft721/ONFT721.sol";
import { ERC721 } from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import { IERC165 } from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @title CosmicONFT721
/// @notice LayerZero V2 omnichain ERC-721 of a Cosmic Loop collection.
/// @dev Token ids are unique across every chain of the collection: a deployment only mints ids whose
///      high bits (`tokenId >> 64`) equal its own LayerZero EID, so a token bridged in can never collide
///      with one minted locally. Minting is restricted to minters managed by the owner. `issued` records
///      every id this deployment ever minted, so a resumed distribution never mints an id twice even if
///      the token has since been burnt by a bridge send.
contract CosmicONFT721 is ONFT721 {
    /// @notice LayerZero endpoint id of this deployment (the id range it mints in).
    uint32 public immutable localEid;

    mapping(address => bool) public isMinter;
    mapping(uint256 => bool) public issued;
    mapping(uint256 => string) private _tokenURIs;

    event MinterSet(address indexed account, bool allowed);
    /// @dev ERC-4906: metadata of `_tokenId` changed.
    event MetadataUpdate(uint256 _tokenId);
    /// @dev ERC-4906: metadata of every token in `[_fromTokenId, _toTokenId]` changed.
    event BatchMetadataUpdate(uint256 _fromTokenId, uint256 _toTokenId);

    error NotMinter(address account);
    error TokenIdOutOfRange(uint256 tokenId, uint32 localEid);
    error TokenAlreadyIssued(uint256 tokenId);
    error LengthMismatch();

    constructor(
        string memory _name,
        string memory _symbol,
        string memory _baseURI,
        address _lzEndpoint,
        address _delegate
    ) ONFT721(_name, _symbol, _lzEndpoint, _delegate) {
        localEid = endpoint.eid();
        baseTokenURI = _baseURI;
    }

    modifier onlyMinter() {
        if (!isMinter[msg.sender]) revert NotMinter(msg.sender);
        _;
    }

    /// @notice First id of this deployment's range; ids `[firstTokenId, firstTokenId + 2^64)` are mintable here.
    function firstTokenId() public view returns (uint256) {
        return uint256(localEid) << 64;
    }

    function setMinter(address _account, bool _allowed) external onlyOwner {
        isMinter[_account] = _allowed;
        emit MinterSet(_account, _allowed);
    }

    function mint(address _to, uint256 _tokenId) external onlyMinter {
        _issue(_to, _tokenId);
    }

    /// @notice Mints `_tokenIds[i]` to `_to[i]`; reverts if any id was already issued.
    function mintBatch(address[] calldata _to, uint256[] calldata _tokenIds) external onlyMinter {
        if (_to.length != _tokenIds.length) revert LengthMismatch();
        for (uint256 i = 0; i < _to.length; i++) _issue(_to[i], _tokenIds[i]);
    }

    /// @notice Idempotent batch mint for distributions: ids already issued are skipped, so a job that is
    ///         resumed after a crash can resend its batch without minting anything twice.
    /// @return minted how many tokens this call minted.
    function distribute(address[] calldata _to, uint256[] calldata _tokenIds) external onlyMinter returns (uint256 minted) {
        if (_to.length != _tokenIds.length) revert LengthMismatch();
        for (uint256 i = 0; i < _to.length; i++) {
            if (issued[_tokenIds[i]]) continue;
            _issue(_to[i], _tokenIds[i]);
            minted++;
        }
    }

    /// @notice Per-token URI that overrides `baseURI + tokenId` on this chain.
    function setTokenURI(uint256 _tokenId, string calldata _uri) external onlyMinter {
        _requireOwned(_tokenId);
        _tokenURIs[_tokenId] = _uri;
        emit MetadataUpdate(_tokenId);
    }

    /// @notice Announces (ERC-4906) that the metadata behind the ids `[_fromTokenId, _toTokenId]` changed,
    ///         e.g. after the JSON behind `baseURI` was republished; indexers and marketplaces re-read them.
    function emitBatchMetadataUpdate(uint256 _fromTokenId, uint256 _toTokenId) external onlyMinter {
        emit BatchMetadataUpdate(_fromTokenId, _toTokenId);
    }

    function tokenURI(uint256 _tokenId) public view override returns (string memory) {
        _requireOwned(_tokenId);
        string memory uri = _tokenURIs[_tokenId];
        return bytes(uri).length > 0 ? uri : super.tokenURI(_tokenId);
    }

    function supportsInterface(bytes4 _interfaceId) public view override returns (bool) {
        // 0x49064906: ERC-4906 metadata update events.
        return _interfaceId == bytes4(0x49064906) || super.supportsInterface(_interfaceId);
    }

    function _issue(address _to, uint256 _tokenId) internal {
        if (_tokenId >> 64 != localEid) revert TokenIdOutOfRange(_tokenId, localEid);
        if (issued[_tokenId]) revert TokenAlreadyIssued(_tokenId);
        issued[_tokenId] = true;
        _mint(_to, _tokenId);
    }
}
